"""``GrpcClient``: the :class:`~kubemu.client.interface.Client` protocol over gRPC
(proto/kubemu/v1, grpc.aio).

Errors come back as the same :class:`StatusError` the in-process client raises
(:mod:`kubemu.client.grpc_status`). Single-object verbs share one multiplexed ``Call`` stream
(:mod:`kubemu.client.grpc_mux`); a LIST arrives as packed chunks (``ListChunked``,
:mod:`kubemu.client.grpc_list`); a watch is a :class:`~kubemu.client.grpc_watch.GrpcWatchStream`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf.message import Message

from kubemu._core import pack_many
from kubemu.api import DEFAULT_GRPC_PORT, SERVICE, WATCH_STARTED, api_pb2
from kubemu.apiserver.codec import decode_all, decode_trusted, encode
from kubemu.apiserver.grpc_wire import split_events, unpack_events, unpack_items
from kubemu.client.grpc_list import PackedList, parse_list_response
from kubemu.client.grpc_mux import MUX_BATCH_BYTES, MUX_MAX_REQUEST, MUX_METHODS, CallMux
from kubemu.client.grpc_status import FinishedCall, status_error_from_rpc
from kubemu.client.grpc_watch import GrpcWatchStream
from kubemu.client.interface import (
    BatchResult,
    DeleteOptions,
    ListOptions,
    Obj,
    ObjList,
    PatchType,
    patch_body,
)
from kubemu.objects.errors import StatusError
from kubemu.objects.meta import set_resource_version

__all__ = [
    "MUX_BATCH_BYTES",
    "MUX_MAX_REQUEST",
    "MUX_METHODS",
    "GrpcClient",
    "GrpcWatchStream",
    "PackedList",
    "parse_list_response",
    "split_events",
    "status_error_from_rpc",
    "unpack_events",
    "unpack_items",
]

DEFAULT_ADDRESS = f"127.0.0.1:{DEFAULT_GRPC_PORT}"

Deserialize = Callable[[bytes], Any]
"""A response's deserializer (``Message.FromString`` or a hand-written parser)."""


def _decode(raw: api_pb2.RawObject) -> Obj:
    obj = decode_trusted(raw.data)
    if raw.resource_version:
        set_resource_version(obj, raw.resource_version)
    return obj


def _list_options(o: ListOptions | None) -> api_pb2.ListOptions:
    o = o or ListOptions()
    msg = api_pb2.ListOptions(
        label_selector=o.label_selector,
        field_selector=o.field_selector,
        limit=o.limit,
        resource_version=o.resource_version,
        resource_version_match=o.resource_version_match,
        allow_watch_bookmarks=o.allow_watch_bookmarks,
        has_node_names=o.node_names is not None,
        node_names=sorted(o.node_names or ()),
    )
    setattr(msg, "continue", o.continue_)
    if o.timeout_seconds is not None:
        msg.timeout_seconds = o.timeout_seconds
    return msg


def _delete_options(o: DeleteOptions | None) -> api_pb2.DeleteOptions:
    o = o or DeleteOptions()
    msg = api_pb2.DeleteOptions(dry_run=o.dry_run)
    if o.grace_period_seconds is not None:
        msg.grace_period_seconds = o.grace_period_seconds
    if o.preconditions_uid is not None:
        msg.preconditions_uid = o.preconditions_uid
    if o.preconditions_resource_version is not None:
        msg.preconditions_resource_version = o.preconditions_resource_version
    if o.propagation_policy is not None:
        msg.propagation_policy = o.propagation_policy
    return msg


def _batch(r: api_pb2.BatchResponse) -> BatchResult:
    """Per item the error or the object; objects are decoded when the result's ``objects``
    are first read (a caller that reads only the errors does not pay for them)."""
    objects: builtins.list[Obj | None] = []
    errors: builtins.list[StatusError | None] = []
    stored: dict[int, tuple[bytes, int]] = {}
    for i, item in enumerate(r.items):
        if item.status:
            objects.append(None)
            errors.append(StatusError.from_status(decode_trusted(item.status)))
            continue
        errors.append(None)
        objects.append(None)
        if item.HasField("object"):
            raw = item.object
            if raw.resource_version:
                stored[i] = (raw.data, raw.resource_version)
            else:
                objects[i] = _decode(raw)
    return BatchResult.stored_objects(objects, errors, stored, decode_all)


class GrpcClient:
    """The apiserver's API over gRPC. ``address``: ``host:port`` or ``unix:/path``;
    ``token``: sent as ``authorization: Bearer <token>``. ``multiplex``: single-object verbs
    share one ``Call`` stream (default) instead of one unary RPC each."""

    def __init__(
        self, address: str = DEFAULT_ADDRESS, token: str | None = None, *, multiplex: bool = True
    ) -> None:
        self.address = address
        self.multiplex = multiplex
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )
        self._channel: Any = None
        self._stubs: dict[str, Any] = {}
        self._chunked_list = True
        self._mux: CallMux | None = None

    def _open(self) -> Any:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(
                self.address,
                options=[
                    ("grpc.max_receive_message_length", -1),
                    ("grpc.max_send_message_length", -1),
                ],
            )
        return self._channel

    def _stub(self, method: str, response: Deserialize, stream: bool = False) -> Any:
        stub = self._stubs.get(method)
        if stub is None:
            channel = self._open()
            factory = channel.unary_stream if stream else channel.unary_unary
            stub = factory(
                f"/{SERVICE}/{method}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response,
            )
            self._stubs[method] = stub
        return stub

    async def _call(self, method: str, request: Message, response: Deserialize) -> Any:
        if self.multiplex and method in MUX_METHODS:
            raw = request.SerializeToString()
            if len(raw) <= MUX_MAX_REQUEST:
                mux = self._mux
                if mux is None or mux.failed:
                    mux = self._mux = CallMux(self._open(), self._metadata)
                try:
                    result = await mux.call(method, raw)
                except grpc.aio.AioRpcError as e:
                    raise status_error_from_rpc(e) from None
                if result.status:
                    raise StatusError.from_status(decode_trusted(result.status))
                return response(result.response)
        try:
            return await self._stub(method, response)(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as e:
            raise status_error_from_rpc(e) from None

    async def _object(self, method: str, request: Message) -> Obj:
        r = await self._call(method, request, api_pb2.ObjectResponse.FromString)
        return _decode(r.object)

    # The Client protocol

    async def create(
        self, resource: str, namespace: str, obj: Obj, *, dry_run: bool = False
    ) -> Obj:
        request = api_pb2.CreateRequest(
            resource=resource, namespace=namespace, object=encode(obj), dry_run=dry_run
        )
        return await self._object("Create", request)

    async def get(self, resource: str, namespace: str, name: str) -> Obj:
        request = api_pb2.GetRequest(resource=resource, namespace=namespace, name=name)
        return await self._object("Get", request)

    async def list(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> ObjList:
        items: builtins.list[Obj] = []
        last = await self._list_into(resource, namespace, options, items, decode=True)
        return last.with_items(items)

    async def list_raw(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> PackedList:
        """:meth:`list` with the items undecoded (:class:`PackedList`), for consumers that
        decode msgpack themselves or only some items."""
        chunks: builtins.list[Any] = []
        last = await self._list_into(resource, namespace, options, chunks, decode=False)
        last.chunks = chunks
        return last

    async def _list_into(
        self,
        resource: str,
        namespace: str,
        options: ListOptions | None,
        sink: builtins.list[Any],
        *,
        decode: bool,
    ) -> PackedList:
        """Receive a LIST: its chunks (or, with ``decode``, their objects as dicts, decoded
        as they arrive while the server reads on) appended to ``sink``; returns the last
        message (the list's metadata). ``ListChunked`` first; a server without it, or a
        stream that fails after a chunk (its revision compacted meanwhile), gets the
        one-message ``List`` instead, from scratch."""
        request = api_pb2.ListRequest(
            resource=resource, namespace=namespace, options=_list_options(options)
        )
        if self._chunked_list:
            last: PackedList | None = None
            call = self._stub("ListChunked", parse_list_response, stream=True)(
                request, metadata=self._metadata
            )
            try:
                async for part in call:
                    for chunk in part.chunks:
                        sink += unpack_items(chunk, promote=True) if decode else [chunk]
                    last = part
                if last is not None:
                    return last
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    self._chunked_list = False
                elif last is None:
                    raise status_error_from_rpc(e) from None
            sink.clear()
        packed: PackedList = await self._call("List", request, parse_list_response)
        for chunk in packed.chunks:
            sink += unpack_items(chunk) if decode else [chunk]
        return packed

    async def update(self, resource: str, namespace: str, obj: Obj) -> Obj:
        request = api_pb2.UpdateRequest(resource=resource, namespace=namespace, object=encode(obj))
        return await self._object("Update", request)

    async def update_status(self, resource: str, namespace: str, obj: Obj) -> Obj:
        request = api_pb2.UpdateRequest(resource=resource, namespace=namespace, object=encode(obj))
        return await self._object("UpdateStatus", request)

    async def patch(
        self,
        resource: str,
        namespace: str,
        name: str,
        patch: bytes | Obj | Sequence[Obj],
        patch_type: PatchType = PatchType.MERGE,
        *,
        subresource: str = "",
    ) -> Obj:
        request = api_pb2.PatchRequest(
            resource=resource,
            namespace=namespace,
            name=name,
            patch_type=str(patch_type),
            patch=patch_body(patch),
            subresource=subresource,
        )
        return await self._object("Patch", request)

    async def delete(
        self, resource: str, namespace: str, name: str, options: DeleteOptions | None = None
    ) -> Obj:
        request = api_pb2.DeleteRequest(
            resource=resource, namespace=namespace, name=name, options=_delete_options(options)
        )
        return await self._object("Delete", request)

    async def delete_collection(
        self,
        resource: str,
        namespace: str,
        options: ListOptions | None = None,
        delete_options: DeleteOptions | None = None,
    ) -> ObjList:
        request = api_pb2.DeleteCollectionRequest(
            resource=resource,
            namespace=namespace,
            options=_list_options(options),
            delete_options=_delete_options(delete_options),
        )
        packed: PackedList = await self._call("DeleteCollection", request, parse_list_response)
        return packed.decode()

    async def watch(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> GrpcWatchStream:
        """Returns once the server has established the watch; errors such as Gone (a
        compacted resourceVersion) raise here, as with the in-process client."""
        request = api_pb2.WatchRequest(
            resource=resource, namespace=namespace, options=_list_options(options)
        )
        call = self._stub("Watch", api_pb2.WatchBatch.FromString, stream=True)(
            request, metadata=self._metadata
        )
        try:
            initial = await call.initial_metadata()
            started = any(k == WATCH_STARTED for k, _ in initial or ())
            if not started:
                code = await call.code()
                if code != grpc.StatusCode.OK:
                    trailing = await call.trailing_metadata()
                    raise status_error_from_rpc(FinishedCall(code, await call.details(), trailing))
        except grpc.aio.AioRpcError as e:
            raise status_error_from_rpc(e) from None
        return GrpcWatchStream(call)

    async def bind(self, namespace: str, name: str, node_name: str, *, uid: str = "") -> None:
        request = api_pb2.BindRequest(namespace=namespace, name=name, node_name=node_name, uid=uid)
        await self._call("Bind", request, api_pb2.BindResponse.FromString)

    async def create_many(self, resource: str, namespace: str, objs: Sequence[Obj]) -> BatchResult:
        # The dicts pack_many packs in one call (msgpack's bytes), the others one by one.
        packed = [
            p if p is not None else encode(o) for o, p in zip(objs, pack_many(objs), strict=True)
        ]
        request = api_pb2.CreateManyRequest(resource=resource, namespace=namespace, objects=packed)
        return _batch(await self._call("CreateMany", request, api_pb2.BatchResponse.FromString))

    async def bind_many(self, bindings: Sequence[tuple[str, str, str]]) -> BatchResult:
        request = api_pb2.BindManyRequest(
            bindings=[
                api_pb2.Binding(namespace=ns, name=n, node_name=node) for ns, n, node in bindings
            ]
        )
        return _batch(await self._call("BindMany", request, api_pb2.BatchResponse.FromString))

    async def update_many(self, resource: str, objs: Sequence[Obj]) -> BatchResult:
        request = api_pb2.UpdateManyRequest(resource=resource, objects=[encode(o) for o in objs])
        return _batch(await self._call("UpdateMany", request, api_pb2.BatchResponse.FromString))

    async def renew_leases(
        self, leases: Sequence[tuple[str, str]], renew_time: str | None = None
    ) -> BatchResult:
        request = api_pb2.RenewLeasesRequest(
            leases=[api_pb2.LeaseRef(namespace=ns, name=n) for ns, n in leases],
            renew_time=renew_time or "",
        )
        return _batch(await self._call("RenewLeases", request, api_pb2.BatchResponse.FromString))

    async def close(self) -> None:
        if self._mux is not None:
            await self._mux.close()
            self._mux = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stubs.clear()

    async def __aenter__(self) -> GrpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
