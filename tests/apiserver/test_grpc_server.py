"""The gRPC adapter on its own: a scripted core (``FakeAPIServer``) behind it, raw gRPC calls in
front. What must hold whatever the core does: every verb reaches the core with its arguments,
errors travel as gRPC code + Status trailer, bad input is refused and the server stays up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc  # type: ignore[import-untyped]
import msgpack  # type: ignore[import-untyped]
import pytest
from kubemu.api import STATUS_TRAILER, api_pb2
from kubemu.apiserver.codec import copy_object
from kubemu.apiserver.grpc_server import GrpcServer
from kubemu.client.interface import BatchResult, EventType, ObjList, WatchEvent
from kubemu.objects.errors import StatusError

Obj = dict[str, Any]


@dataclass
class User:
    name: str


class FakeWatch:
    def __init__(self, events: list[WatchEvent]) -> None:
        self.events = events
        self.closed = False

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[WatchEvent]:
        for e in self.events:
            yield e

    async def close(self) -> None:
        self.closed = True


class FakeAPIServer:
    """A dict of objects with the APIServer's method shapes; records every call."""

    def __init__(self, tokens: dict[str, str] | None = None, anonymous: bool = True) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.calls: list[tuple[str, Any]] = []
        self.tokens = tokens or {}
        self.anonymous = anonymous
        self.rv = 0
        self.watches: list[FakeWatch] = []

    def authenticate(self, token: str | None) -> User:
        if token and token in self.tokens:
            return User(self.tokens[token])
        if not token and self.anonymous:
            return User("system:anonymous")
        raise StatusError.unauthorized("Unauthorized")

    def _store(self, resource: str, ns: str, obj: Obj) -> Obj:
        self.rv += 1
        obj = {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": str(self.rv)}}
        self.objects[(resource, ns, obj["metadata"]["name"])] = obj
        return obj

    async def create(
        self, resource: str, ns: str, obj: Obj | bytes, *, dry_run: bool, user: User
    ) -> Obj:
        obj = copy_object(obj)
        self.calls.append(("create", (resource, ns, dry_run, user.name)))
        name = obj.get("metadata", {}).get("name", "")
        if (resource, ns, name) in self.objects:
            raise StatusError.already_exists(resource, name)
        return self._store(resource, ns, obj)

    async def get(self, resource: str, ns: str, name: str, *, user: User) -> Obj:
        self.calls.append(("get", (resource, ns, name, user.name)))
        if name == "boom":
            raise RuntimeError("the core broke")
        try:
            return self.objects[(resource, ns, name)]
        except KeyError:
            raise StatusError.not_found(resource, name) from None

    async def list(self, resource: str, ns: str, options: Any, *, user: User) -> ObjList:
        self.calls.append(("list", (resource, ns, options)))
        items = [o for (r, n, _), o in sorted(self.objects.items()) if r == resource]
        return ObjList("PodList", "v1", str(self.rv), items, "tok", 7)

    async def update(self, resource: str, ns: str, obj: Obj | bytes, *, user: User) -> Obj:
        obj = copy_object(obj)
        self.calls.append(("update", obj))
        return self._store(resource, ns, obj)

    async def update_status(self, resource: str, ns: str, obj: Obj | bytes, *, user: User) -> Obj:
        obj = copy_object(obj)
        self.calls.append(("update_status", obj))
        return self._store(resource, ns, obj)

    async def patch(
        self, resource: str, ns: str, name: str, patch: bytes, patch_type: str, *,
        subresource: str, user: User,
    ) -> Obj:  # fmt: skip
        self.calls.append(("patch", (name, patch, str(patch_type), subresource)))
        return self.objects[(resource, ns, name)]

    async def delete(self, resource: str, ns: str, name: str, options: Any, *, user: User) -> Obj:
        self.calls.append(("delete", (name, options)))
        return self.objects.pop((resource, ns, name))

    async def delete_collection(
        self, resource: str, ns: str, options: Any, delete_options: Any, *, user: User
    ) -> ObjList:
        self.calls.append(("delete_collection", (options, delete_options)))
        return ObjList("PodList", "v1", "9", [], "", None)

    async def watch(self, resource: str, ns: str, options: Any, *, user: User) -> FakeWatch:
        self.calls.append(("watch", options))
        if options.resource_version == "1":
            raise StatusError.too_old_resource_version(1, 5)
        w = FakeWatch(
            [
                WatchEvent(EventType.ADDED, {"metadata": {"name": "a", "resourceVersion": "3"}}),
                WatchEvent(EventType.ERROR, StatusError.gone("relist").to_status()),
            ]
        )
        self.watches.append(w)
        return w

    async def bind(self, ns: str, name: str, binding: Obj, *, user: User) -> Obj:
        self.calls.append(("bind", (ns, name, binding)))
        return binding

    async def create_many(
        self, resource: str, ns: str, objs: Sequence[Obj | bytes], *, user: User
    ) -> Any:
        result = BatchResult()
        for o in objs:
            try:
                result.objects.append(await self.create(resource, ns, o, dry_run=False, user=user))
                result.errors.append(None)
            except StatusError as e:
                result.objects.append(None)
                result.errors.append(e)
        return result

    async def bind_many(self, bindings: Sequence[tuple[str, str, str]], *, user: User) -> Any:
        self.calls.append(("bind_many", bindings))
        return BatchResult([None] * len(bindings), [None] * len(bindings))

    async def update_many(self, resource: str, objs: Sequence[Obj | bytes], *, user: User) -> Any:
        stored = [self._store(resource, "", copy_object(o)) for o in objs]
        return BatchResult(list(stored), [None] * len(objs))


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeAPIServer, GrpcServer, Any]]:
    api = FakeAPIServer(tokens={"secret": "alice"})
    server = GrpcServer(api, "127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(server.target)
    try:
        yield api, server, channel
    finally:
        await channel.close()
        await server.stop(None)


def raw_call(channel: Any, method: str) -> Any:
    return channel.unary_unary(f"/kubemu.v1.API/{method}")


def status_of(e: Any) -> Obj:
    for k, v in e.trailing_metadata():
        if k == STATUS_TRAILER:
            status: Obj = msgpack.unpackb(v)
            return status
    raise AssertionError("no Status trailer")


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}}


async def test_create_get_round_trip_and_typed_error(served: Any) -> None:
    api, _, channel = served
    req = api_pb2.CreateRequest(resource="pods", namespace="default", object=msgpack.packb(POD))
    resp = api_pb2.ObjectResponse.FromString(
        await raw_call(channel, "Create")(req.SerializeToString())
    )
    assert resp.object.resource_version == 1
    assert msgpack.unpackb(resp.object.data)["metadata"]["name"] == "p"
    assert api.calls[-1] == ("create", ("pods", "default", False, "system:anonymous"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_call(channel, "Create")(req.SerializeToString())
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert info.value.details() == 'pods "p" already exists'
    status = status_of(info.value)
    assert status["reason"] == "AlreadyExists" and status["code"] == 409


async def test_internal_error_is_reported_and_server_survives(served: Any) -> None:
    _, _, channel = served
    req = api_pb2.GetRequest(resource="pods", namespace="default", name="boom")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_call(channel, "Get")(req.SerializeToString())
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert status_of(info.value)["reason"] == "InternalError"
    req = api_pb2.GetRequest(resource="pods", namespace="default", name="nope")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_call(channel, "Get")(req.SerializeToString())
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_authentication(served: Any) -> None:
    api, _, channel = served
    api.anonymous = False
    req = api_pb2.GetRequest(resource="pods", namespace="default", name="x").SerializeToString()
    for metadata in [(), (("authorization", "Bearer wrong"),), (("authorization", "Basic x"),)]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw_call(channel, "Get")(req, metadata=metadata)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert status_of(info.value)["reason"] == "Unauthorized"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_call(channel, "Get")(req, metadata=(("authorization", "Bearer secret"),))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert api.calls[-1] == ("get", ("pods", "default", "x", "alice"))


def _nested(depth: int) -> bytes:
    return b"\x81\xa1a" * depth + b"\xc0"


@pytest.mark.parametrize(
    "payload",
    [
        b"\xc1",  # never-used msgpack byte
        b"\x92\x01",  # truncated array
        b"\x81\x01\x02",  # integer map key
        msgpack.packb([1, 2, 3]),  # not a map
        msgpack.packb("just a string"),
        _nested(5000),  # deeper than msgpack's own stack
        _nested(200),  # deeper than the apiserver accepts
        b"",
    ],
)
async def test_malformed_objects_are_bad_requests(served: Any, payload: bytes) -> None:
    api, _, channel = served
    for method, req in [
        ("Create", api_pb2.CreateRequest(resource="pods", namespace="default", object=payload)),
        ("Update", api_pb2.UpdateRequest(resource="pods", namespace="default", object=payload)),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw_call(channel, method)(req.SerializeToString())
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, method
        assert status_of(info.value)["reason"] == "BadRequest"
    many = api_pb2.CreateManyRequest(resource="pods", namespace="default", objects=[payload])
    resp = api_pb2.BatchResponse.FromString(
        await raw_call(channel, "CreateMany")(many.SerializeToString())
    )
    assert msgpack.unpackb(resp.items[0].status)["reason"] == "BadRequest"  # per item
    assert not [c for c in api.calls if c[0] in ("create", "update")]
    # still serving
    ok = api_pb2.CreateRequest(resource="pods", namespace="default", object=msgpack.packb(POD))
    await raw_call(channel, "Create")(ok.SerializeToString())


async def test_malformed_protobuf_and_oversized_messages(served: Any) -> None:
    _, _, channel = served
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_call(channel, "Get")(b"\xff\xff\xff\xff")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert status_of(info.value)["reason"] == "BadRequest"
    big = msgpack.packb({**POD, "data": {"x": "y" * (4 * 1024 * 1024)}})
    req = api_pb2.CreateRequest(resource="pods", namespace="default", object=big)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_call(channel, "Create")(req.SerializeToString())
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_call(channel, "NoSuchMethod")(b"")
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    ok = api_pb2.CreateRequest(resource="pods", namespace="default", object=msgpack.packb(POD))
    await raw_call(channel, "Create")(ok.SerializeToString())


async def test_list_passes_options_and_shapes_response(served: Any) -> None:
    api, _, channel = served
    api._store("pods", "default", POD)
    opts = api_pb2.ListOptions(
        label_selector="a=b", field_selector="spec.nodeName=n", limit=5,
        resource_version="3", has_node_names=True, node_names=["n1", "n2"],
    )  # fmt: skip
    setattr(opts, "continue", "c1")
    opts.timeout_seconds = 9
    req = api_pb2.ListRequest(resource="pods", namespace="", options=opts)
    resp = api_pb2.ListResponse.FromString(await raw_call(channel, "List")(req.SerializeToString()))
    options = api.calls[-1][1][2]
    assert (options.label_selector, options.field_selector, options.limit) == (
        "a=b",
        "spec.nodeName=n",
        5,
    )
    assert (options.continue_, options.resource_version, options.timeout_seconds) == ("c1", "3", 9)
    assert options.node_names == frozenset({"n1", "n2"})
    assert (resp.kind, resp.resource_version, getattr(resp, "continue")) == ("PodList", "1", "tok")
    assert resp.remaining_item_count == 7
    flat = msgpack.unpackb(resp.items)
    assert flat[0::2] == [1]
    assert flat[1]["metadata"]["name"] == POD["metadata"]["name"]


async def test_watch_stream_and_watch_errors(served: Any) -> None:
    api, _, channel = served
    call = channel.unary_stream("/kubemu.v1.API/Watch")
    req = api_pb2.WatchRequest(resource="pods", options=api_pb2.ListOptions())
    flat = [
        x
        async for e in call(req.SerializeToString())
        for x in msgpack.unpackb(api_pb2.WatchBatch.FromString(e).events)
    ]
    assert flat[0::3] == ["ADDED", "ERROR"]
    assert flat[1::3] == [3, 0]
    assert flat[2]["metadata"]["name"] == "a"
    assert flat[5]["reason"] == "Gone"
    assert api.watches[0].closed
    req = api_pb2.WatchRequest(resource="pods", options=api_pb2.ListOptions(resource_version="1"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in call(req.SerializeToString()):
            pass
    assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert status_of(info.value)["message"] == "too old resource version: 1 (5)"
