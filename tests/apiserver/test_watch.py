"""WATCH: from a resourceVersion, initial state, selector transitions, node pools, bookmarks,
compaction and slow readers."""

from __future__ import annotations

import asyncio

import pytest
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.client.inprocess import InProcessClient, InProcessWatch
from kubemu.client.interface import EventType, ListOptions, WatchEvent
from kubemu.store import Store

from tests.apiserver.conftest import pod


async def _next(w: InProcessWatch, timeout: float = 2.0) -> WatchEvent:
    it = w.__aiter__()
    return await asyncio.wait_for(it.__anext__(), timeout)


async def _take(w: InProcessWatch, n: int, skip_bookmarks: bool = True) -> list[WatchEvent]:
    out: list[WatchEvent] = []
    it = w.__aiter__()
    while len(out) < n:
        ev = await asyncio.wait_for(it.__anext__(), 2.0)
        if skip_bookmarks and ev.type == EventType.BOOKMARK:
            continue
        out.append(ev)
    return out


def _names(events: list[WatchEvent]) -> list[tuple[str, str]]:
    return [(e.type.value, e.object["metadata"]["name"]) for e in events]


async def test_watch_from_resource_version(client: InProcessClient) -> None:
    a = await client.create("pods", "default", pod("a"))
    w = await client.watch(
        "pods", "default", ListOptions(resource_version=a["metadata"]["resourceVersion"])
    )
    b = await client.create("pods", "default", pod("b"))
    a["metadata"]["labels"]["x"] = "1"
    await client.update("pods", "default", a)
    await client.delete("pods", "default", "b")
    events = await _take(w, 3)
    assert _names(events) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert events[0].resource_version == b["metadata"]["resourceVersion"]
    assert int(events[2].resource_version) > int(b["metadata"]["resourceVersion"])
    await w.close()


async def test_watch_without_version_starts_with_current_state(client: InProcessClient) -> None:
    await client.create("pods", "default", pod("a"))
    await client.create("pods", "default", pod("b"))
    w = await client.watch("pods", "default")
    await client.create("pods", "default", pod("c"))
    assert _names(await _take(w, 3)) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    await w.close()


async def test_watch_replays_recent_events_from_the_shared_buffer(
    client: InProcessClient, api: APIServer
) -> None:
    a = await client.create("pods", "default", pod("a"))
    rv = a["metadata"]["resourceVersion"]
    w1 = await client.watch("pods", "", ListOptions(resource_version=rv))
    await client.create("pods", "default", pod("b"))
    await _take(w1, 1)
    # A second stream from the same rv joins the same hub and still sees b.
    w2 = await client.watch("pods", "", ListOptions(resource_version=rv))
    assert len(api.watchers.hubs) == 1
    assert _names(await _take(w2, 1)) == [("ADDED", "b")]
    await w1.close()
    await w2.close()
    await asyncio.sleep(0)
    assert api.watchers.hubs == {}


async def test_watch_from_older_revision_uses_a_private_hub(store: Store) -> None:
    api = APIServer(EmbeddedStorage(store), watch_buffer_size=1)
    client = InProcessClient(api)
    first = await client.create("pods", "default", pod("a"))
    w1 = await client.watch(
        "pods", "", ListOptions(resource_version=first["metadata"]["resourceVersion"])
    )
    for n in ("b", "c", "d"):
        await client.create("pods", "default", pod(n))
    await _take(w1, 3)
    w2 = await client.watch(
        "pods", "", ListOptions(resource_version=first["metadata"]["resourceVersion"])
    )
    assert _names(await _take(w2, 3)) == [("ADDED", "b"), ("ADDED", "c"), ("ADDED", "d")]
    await w1.close()
    await w2.close()
    await api.close()


async def test_label_selector_transitions(client: InProcessClient) -> None:
    await client.create("pods", "default", pod("a"))
    w = await client.watch("pods", "", ListOptions(label_selector="tier=front"))
    cur = await client.get("pods", "default", "a")
    cur["metadata"]["labels"]["tier"] = "front"
    cur = await client.update("pods", "default", cur)  # enters: ADDED
    cur["metadata"]["labels"]["other"] = "x"
    cur = await client.update("pods", "default", cur)  # stays: MODIFIED
    cur["metadata"]["labels"]["tier"] = "back"
    left = await client.update("pods", "default", cur)  # leaves: DELETED
    events = await _take(w, 3)
    assert [e.type.value for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    # The DELETED event carries the previous content with the new resourceVersion.
    assert events[2].object["metadata"]["labels"]["tier"] == "front"
    assert events[2].resource_version == left["metadata"]["resourceVersion"]
    await w.close()


async def test_node_field_selector_and_node_pool_streams(client: InProcessClient) -> None:
    for n in ("a", "b", "c"):
        await client.create("pods", "default", pod(n))
    rv = (await client.list("pods")).resource_version
    on_n1 = await client.watch(
        "pods", "", ListOptions(field_selector="spec.nodeName=n1", resource_version=rv)
    )
    pool = await client.watch(
        "pods", "", ListOptions(node_names=frozenset({"n2", "n3"}), resource_version=rv)
    )
    unscheduled = await client.watch(
        "pods", "", ListOptions(field_selector="spec.nodeName=", resource_version=rv)
    )
    await client.bind("default", "a", "n1")
    await client.bind("default", "b", "n2")
    await client.bind("default", "c", "n3")
    assert _names(await _take(on_n1, 1)) == [("ADDED", "a")]
    assert _names(await _take(pool, 2)) == [("ADDED", "b"), ("ADDED", "c")]
    assert _names(await _take(unscheduled, 3)) == [
        ("DELETED", "a"),
        ("DELETED", "b"),
        ("DELETED", "c"),
    ]
    await client.delete("pods", "default", "b", None)
    ev = await _take(pool, 1)
    assert ev[0].type == EventType.MODIFIED and ev[0].object["metadata"]["deletionTimestamp"]
    for w in (on_n1, pool, unscheduled):
        await w.close()


async def test_watch_from_compacted_revision_is_gone(client: InProcessClient, store: Store) -> None:
    a = await client.create("pods", "default", pod("a"))
    await client.create("pods", "default", pod("b"))
    store.compact(store.revision)
    w = await client.watch(
        "pods", "", ListOptions(resource_version=a["metadata"]["resourceVersion"])
    )
    ev = await _next(w)
    assert ev.type == EventType.ERROR
    assert ev.object["code"] == 410
    assert ev.object["message"] == (
        f"too old resource version: {a['metadata']['resourceVersion']} ({store.compact_revision})"
    )
    with pytest.raises(StopAsyncIteration):
        await _next(w)


async def test_bookmarks(client: InProcessClient) -> None:
    a = await client.create("pods", "default", pod("a"))
    w = await client.watch(
        "pods",
        "",
        ListOptions(resource_version=a["metadata"]["resourceVersion"], allow_watch_bookmarks=True),
    )
    ev = await _next(w)
    assert ev.type == EventType.BOOKMARK
    assert int(ev.resource_version) >= int(a["metadata"]["resourceVersion"])
    assert ev.object["kind"] == "Pod"
    await w.close()


async def test_watch_timeout_ends_stream(client: InProcessClient) -> None:
    w = await client.watch("pods", "", ListOptions(timeout_seconds=0))
    with pytest.raises(StopAsyncIteration):
        await _next(w)


async def test_slow_stream_is_dropped_without_blocking_others(store: Store) -> None:
    api = APIServer(EmbeddedStorage(store), watch_queue_size=3)
    client = InProcessClient(api)
    rv = (await client.list("pods")).resource_version
    slow = await client.watch("pods", "", ListOptions(resource_version=rv))
    fast = await client.watch("pods", "", ListOptions(resource_version=rv))
    seen = []
    for i in range(6):
        await client.create("pods", "default", pod(f"p{i}"))
        seen += await _take(fast, 1)
    assert len(seen) == 6
    ev = await _next(slow)
    assert ev.type == EventType.ERROR and ev.object["code"] == 410
    with pytest.raises(StopAsyncIteration):
        await _next(slow)
    await fast.close()
    await api.close()


async def test_watch_metrics(client: InProcessClient, api: APIServer) -> None:
    w = await client.watch("pods", "")
    await client.create("pods", "default", pod("a"))
    await _take(w, 1)
    reg = api.metrics.registry
    assert reg.get_sample_value("apiserver_registered_watchers", {"resource": "pods"}) == 1
    assert reg.get_sample_value("apiserver_watch_events_total", {"resource": "pods"}) == 1
    await w.close()
    assert reg.get_sample_value("apiserver_registered_watchers", {"resource": "pods"}) == 0


async def test_server_watch_drain_takes_queued_events_in_order(api: APIServer) -> None:
    client = InProcessClient(api)
    rv = (await client.list("pods")).resource_version
    stream = await api.watch("pods", "", ListOptions(resource_version=rv), user=client.user)
    created = [await client.create("pods", "default", pod(f"p{i}")) for i in range(5)]
    async with asyncio.timeout(5):
        while stream.pending < 5:  # the hub dispatches on its own task
            await asyncio.sleep(0.01)
    assert stream.pending == 5
    batches = [
        stream.drain(2),
        stream.drain(1),
        stream.drain(10, max_bytes=1),  # at least one, then the byte limit stops it
        await stream.next_batch(),
    ]
    assert [len(b) for b in batches] == [2, 1, 1, 1]
    got = [(t, r) for b in batches for t, r, _ in b]
    assert got == [("ADDED", int(c["metadata"]["resourceVersion"])) for c in created]
    assert stream.drain() == [] and stream.pending == 0
    reg = api.metrics.registry
    assert reg.get_sample_value("apiserver_watch_events_total", {"resource": "pods"}) == 5
    await stream.close()
    assert await stream.next_batch() == []
