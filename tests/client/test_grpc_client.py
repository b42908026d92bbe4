"""GrpcClient against the gRPC adapter over a scripted core (tests.apiserver.test_grpc_server's
FakeAPIServer): objects, options, errors and watches arrive as the Client protocol promises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubemu.apiserver.grpc_server import GrpcServer
from kubemu.client.grpc_client import GrpcClient
from kubemu.client.interface import Client, DeleteOptions, EventType, ListOptions
from kubemu.objects.errors import Reason, StatusError

from tests.apiserver.test_grpc_server import POD, FakeAPIServer


@pytest.fixture
async def pair() -> AsyncIterator[tuple[FakeAPIServer, GrpcServer]]:
    api = FakeAPIServer(tokens={"secret": "alice"})
    server = GrpcServer(api, "127.0.0.1:0")
    await server.start()
    try:
        yield api, server
    finally:
        await server.stop(None)


async def test_verbs_round_trip(pair: Any) -> None:
    api, server = pair
    async with GrpcClient(server.target, token="secret") as c:
        assert isinstance(c, Client)
        created = await c.create("pods", "default", POD)
        assert created["metadata"]["resourceVersion"] == "1"
        assert api.calls[-1] == ("create", ("pods", "default", False, "alice"))
        assert (await c.get("pods", "default", "p"))["metadata"]["name"] == "p"
        lst = await c.list("pods", "", ListOptions(label_selector="a=b", node_names=frozenset()))
        assert api.calls[-1][1][2].node_names == frozenset()
        assert (lst.kind, lst.resource_version, lst.continue_, lst.remaining_item_count) == (
            "PodList", "1", "tok", 7,
        )  # fmt: skip
        assert [i["metadata"]["name"] for i in lst.items] == ["p"]
        updated = await c.update("pods", "default", {**POD, "spec": {"x": 1}})
        assert updated["metadata"]["resourceVersion"] == "2"
        await c.update_status("pods", "default", POD)
        await c.patch("pods", "default", "p", {"metadata": {"labels": {"a": "b"}}})
        patch = (b'{"metadata": {"labels": {"a": "b"}}}', "application/merge-patch+json")
        assert api.calls[-1] == ("patch", ("p", *patch, ""))
        await c.bind("default", "p", "node-1", uid="u1")
        _, (_ns, _name, binding) = api.calls[-1]
        assert binding["target"]["name"] == "node-1" and binding["metadata"]["uid"] == "u1"
        batch = await c.create_many("pods", "default", [POD, {**POD, "metadata": {"name": "q"}}])
        assert batch.errors[0] is not None and batch.errors[0].reason == Reason.ALREADY_EXISTS
        assert batch.objects[1] is not None and batch.objects[1]["metadata"]["name"] == "q"
        assert (await c.bind_many([("default", "q", "n")])).ok
        assert (await c.update_many("leases", [{"metadata": {"name": "l"}}])).ok
        await c.delete("pods", "default", "p", DeleteOptions(grace_period_seconds=0))
        assert api.calls[-1][1][1].grace_period_seconds == 0
        await c.delete_collection("pods", "default", ListOptions(field_selector="x=y"))
        assert api.calls[-1][1][0].field_selector == "x=y"


async def test_errors_rebuild_status_error(pair: Any) -> None:
    api, server = pair
    async with GrpcClient(server.target) as c:
        with pytest.raises(StatusError) as info:
            await c.get("pods", "default", "missing")
        assert (info.value.reason, info.value.code) == (Reason.NOT_FOUND, 404)
        assert info.value.message == 'pods "missing" not found'
        assert info.value.details == {"name": "missing", "kind": "pods"}
    api.anonymous = False
    async with GrpcClient(server.target, token="wrong") as c:
        with pytest.raises(StatusError) as info:
            await c.get("pods", "default", "x")
        assert info.value.reason == Reason.UNAUTHORIZED
    async with GrpcClient("127.0.0.1:1") as c:  # nobody listens
        with pytest.raises(StatusError) as info:
            await c.get("pods", "default", "x")
        assert info.value.reason == Reason.SERVICE_UNAVAILABLE


async def test_watch(pair: Any) -> None:
    _api, server = pair
    async with GrpcClient(server.target) as c:
        stream = await c.watch("pods", "", ListOptions(allow_watch_bookmarks=True))
        events = [e async for e in stream]
        assert [e.type for e in events] == [EventType.ADDED, EventType.ERROR]
        assert events[0].resource_version == "3"
        assert events[1].object["reason"] == "Gone"
        await stream.close()
        await stream.close()
        with pytest.raises(StatusError) as info:
            await c.watch("pods", "", ListOptions(resource_version="1"))
        assert info.value.reason == Reason.EXPIRED
        assert info.value.message == "too old resource version: 1 (5)"
