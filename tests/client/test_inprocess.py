"""InProcessClient: the Client protocol over the apiserver core in this process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kubemu.apiserver import APIServer, EmbeddedStorage, UserInfo
from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import Client, EventType, ListOptions, WatchStream
from kubemu.objects import StatusError
from kubemu.store import Store

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}


@pytest.fixture
async def api() -> AsyncIterator[APIServer]:
    server = APIServer(EmbeddedStorage(Store(fsync=False)))
    yield server
    await server.close()


async def test_implements_the_client_protocol(api: APIServer) -> None:
    client = InProcessClient(api)
    assert isinstance(client, Client)
    w = await client.watch("pods")
    stream: WatchStream = w
    await stream.close()
    await stream.close()  # idempotent
    await client.close()


async def test_round_trip_and_watch(api: APIServer) -> None:
    client = InProcessClient(api)
    w = await client.watch("pods", "default")
    created = await client.create("pods", "default", POD)
    ev = await asyncio.wait_for(w.__anext__(), 2)
    assert ev.type == EventType.ADDED and ev.object == created
    ev.object["metadata"]["name"] = "mutated"
    assert (await client.get("pods", "default", "p"))["metadata"]["name"] == "p"
    listed = await client.list("pods", "", ListOptions(label_selector=""))
    assert listed.items == [created]
    await w.close()


async def test_user_is_passed_to_the_authorizer(api: APIServer) -> None:
    seen: list[str] = []

    class Recorder:
        def authorize(self, user: UserInfo, request: object) -> str | None:
            seen.append(user.name)
            return None

    api.authorizer = Recorder()
    await InProcessClient(api, user=UserInfo("bob")).get("namespaces", "", "default")
    await InProcessClient(api).get("namespaces", "", "default")
    assert seen == ["bob", "system:admin"]


async def test_errors_are_status_errors(api: APIServer) -> None:
    client = InProcessClient(api)
    with pytest.raises(StatusError) as e:
        await client.delete("pods", "default", "missing")
    assert e.value.to_status()["reason"] == "NotFound"
