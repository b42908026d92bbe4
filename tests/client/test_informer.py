"""Informers, indexers and listers.

Most tests run against ``FakeClient``: an in-test apiserver with real list/watch behaviour
(revisions, paging, label selectors, bookmarks, compaction → Gone) that the test can also
misbehave with (pause fan-out, end or break streams). The ``inprocess`` tests at the end run the
same scenarios against ``InProcessClient`` over the real apiserver core and store.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
from kubemu.client.indexer import (
    NAMESPACE_INDEX,
    DeletedFinalStateUnknown,
    Indexer,
    Lister,
    deletion_handling_key,
    field_index_name,
    split_key,
    tombstone_object,
)
from kubemu.client.informer import Backoff, InformerFactory, SharedInformer, is_gone
from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import DeleteOptions, EventType, ListOptions, Obj, ObjList, WatchEvent
from kubemu.objects.errors import StatusError
from kubemu.objects.labels import parse_selector


def pod(name: str, ns: str = "default", node: str = "", **labels: str) -> Obj:
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    if node:
        obj["spec"]["nodeName"] = node
    return obj


async def eventually(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (yielding to the loop) until ``pred()``; fail after ``timeout`` seconds."""

    async def poll() -> None:
        while not pred():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), timeout)


# -- a fake apiserver -----------------------------------------------------------------------------

_END = object()


class FakeStream:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[WatchEvent]:
        while not self.closed:
            item = await self.queue.get()
            if item is _END:
                return
            yield item
            if item.type == EventType.ERROR:
                return

    async def close(self) -> None:
        self.closed = True


class FakeClient:
    """Pods in memory with revisions, a label-selecting list (paged) and watch, compaction."""

    def __init__(self) -> None:
        self.rev = 1
        self.objs: dict[str, Obj] = {}
        self.log: list[tuple[int, EventType, Obj, Obj | None]] = []
        self.compacted = 0
        self.streams: list[tuple[FakeStream, Callable[[Obj | None], bool]]] = []
        self.paused = False
        self.list_calls: list[ListOptions] = []
        self.watch_calls: list[ListOptions] = []
        self.compact_after_first_page = False

    # writes (the test's side)
    def put(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        self.rev += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.rev)
        prev = self.objs.get(key)
        self.objs[key] = stored
        self._emit(EventType.MODIFIED if prev else EventType.ADDED, stored, prev)
        return stored

    def remove(self, name: str, ns: str = "default") -> None:
        prev = self.objs.pop(f"{ns}/{name}")
        self.rev += 1
        gone = copy.deepcopy(prev)
        gone["metadata"]["resourceVersion"] = str(self.rev)
        self._emit(EventType.DELETED, gone, prev)

    def compact(self) -> None:
        self.compacted = self.rev

    def _emit(self, etype: EventType, obj: Obj, prev: Obj | None) -> None:
        self.log.append((self.rev, etype, obj, prev))
        if not self.paused:
            for stream, match in self.streams:
                self._send(stream, match, etype, obj, prev)

    @staticmethod
    def _send(
        stream: FakeStream,
        match: Callable[[Obj | None], bool],
        etype: EventType,
        obj: Obj,
        prev: Obj | None,
    ) -> None:
        now, before = match(obj), match(prev)
        if etype == EventType.DELETED:
            if before:
                stream.queue.put_nowait(WatchEvent(etype, obj))
        elif now and before:
            stream.queue.put_nowait(WatchEvent(EventType.MODIFIED, obj))
        elif now:
            stream.queue.put_nowait(WatchEvent(EventType.ADDED, obj))
        elif before:
            stream.queue.put_nowait(WatchEvent(EventType.DELETED, obj))

    # stream control (the test's side)
    def bookmark(self) -> None:
        for stream, _ in self.streams:
            rv = str(self.rev)
            stream.queue.put_nowait(
                WatchEvent(EventType.BOOKMARK, {"metadata": {"resourceVersion": rv}})
            )

    def end_watches(self, status: StatusError | None = None) -> None:
        for stream, _ in self.streams:
            if status is None:
                stream.queue.put_nowait(_END)
            else:
                stream.queue.put_nowait(WatchEvent(EventType.ERROR, status.to_status()))
        self.streams.clear()

    # the Client protocol's list and watch
    def _matcher(self, options: ListOptions) -> Callable[[Obj | None], bool]:
        sel = parse_selector(options.label_selector)

        def match(obj: Obj | None) -> bool:
            return obj is not None and sel.matches(obj["metadata"].get("labels"))

        return match

    async def list(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> ObjList:
        options = options or ListOptions()
        self.list_calls.append(options)
        match = self._matcher(options)
        start = ""
        if options.continue_:
            rev_s, _, start = options.continue_.partition(":")
            if int(rev_s) <= self.compacted:
                raise StatusError.gone("The provided continue parameter is too old")
        keys = sorted(k for k, o in self.objs.items() if k > start and match(o))
        more = bool(options.limit) and len(keys) > options.limit
        if options.limit:
            keys = keys[: options.limit]
        cont = f"{self.rev}:{keys[-1]}" if more else ""
        if more and self.compact_after_first_page:
            self.compact_after_first_page = False
            self.rev += 1
            self.compact()
        return ObjList("PodList", "v1", str(self.rev), [self.objs[k] for k in keys], cont)

    async def watch(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> FakeStream:
        options = options or ListOptions()
        self.watch_calls.append(options)
        rv = int(options.resource_version or 0)
        if rv < self.compacted:
            raise StatusError.too_old_resource_version(rv, self.compacted)
        stream = FakeStream()
        match = self._matcher(options)
        for rev, etype, obj, prev in self.log:
            if rev > rv:
                self._send(stream, match, etype, obj, prev)
        self.streams.append((stream, match))
        return stream


class Recorder:
    """Handlers that record (kind, key, resourceVersion) tuples."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    @staticmethod
    def _id(obj: Obj | DeletedFinalStateUnknown) -> tuple[str, str]:
        o = tombstone_object(obj)
        return deletion_handling_key(obj), o["metadata"].get("resourceVersion", "")

    def on_add(self, obj: Obj) -> None:
        self.events.append(("add", *self._id(obj)))

    def on_update(self, old: Obj, new: Obj) -> None:
        self.events.append(("update", *self._id(new)))

    def on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        kind = "tombstone" if isinstance(obj, DeletedFinalStateUnknown) else "delete"
        self.events.append((kind, *self._id(obj)))

    def register(self, informer: SharedInformer) -> Any:
        return informer.add_event_handler(self.on_add, self.on_update, self.on_delete)

    def kinds(self) -> list[tuple[str, str]]:
        return [(k, key) for k, key, _ in self.events]


def informer(client: Any, **kw: Any) -> SharedInformer:
    kw.setdefault("backoff", Backoff(initial=0.001, cap=0.005, jitter=0.0))
    return SharedInformer(client, "pods", **kw)


# -- indexer and lister ---------------------------------------------------------------------------


def test_keys() -> None:
    assert deletion_handling_key(pod("a", "ns1")) == "ns1/a"
    assert deletion_handling_key({"metadata": {"name": "node1"}}) == "node1"
    assert deletion_handling_key(DeletedFinalStateUnknown("x/y", pod("y", "x"))) == "x/y"
    assert split_key("ns/a") == ("ns", "a")
    assert split_key("node1") == ("", "node1")
    with pytest.raises(ValueError):
        split_key("a/b/c")


def test_indexer_namespace_field_label_and_custom_indexes() -> None:
    idx = Indexer({"byContainer": lambda o: [c["name"] for c in o["spec"]["containers"]]})
    node_index = idx.add_field_index("spec.nodeName")
    app_index = idx.add_label_index("app")
    assert node_index == field_index_name("spec.nodeName")
    idx.add(pod("a", "ns1", "n1", app="web"))
    idx.add(pod("b", "ns1", "n2", app="db"))
    idx.add(pod("c", "ns2", "n1", app="web"))
    idx.add(pod("d", "ns2"))  # unscheduled, no label
    assert sorted(idx.index_keys(NAMESPACE_INDEX, "ns1")) == ["ns1/a", "ns1/b"]
    assert sorted(idx.index_keys(node_index, "n1")) == ["ns1/a", "ns2/c"]
    assert idx.index_keys(node_index, "") == ["ns2/d"]
    assert sorted(o["metadata"]["name"] for o in idx.by_index(app_index, "web")) == ["a", "c"]
    assert len(idx.by_index("byContainer", "c")) == 4
    assert sorted(o["metadata"]["name"] for o in idx.index(node_index, pod("x", node="n1"))) == [
        "a",
        "c",
    ]
    # An update moves the key between index values; emptied values disappear.
    idx.update(pod("b", "ns1", "n1", app="web"))
    assert sorted(idx.index_keys(node_index, "n1")) == ["ns1/a", "ns1/b", "ns2/c"]
    assert idx.index_keys(node_index, "n2") == []
    assert sorted(idx.list_index_func_values(node_index)) == ["", "n1"]
    assert sorted(idx.list_index_func_values(app_index)) == ["web"]
    # Delete removes it from every index.
    idx.delete(pod("a", "ns1"))
    assert sorted(idx.index_keys(node_index, "n1")) == ["ns1/b", "ns2/c"]
    assert "ns1/a" not in idx
    assert idx.get_by_key("ns1/a") is None
    assert len(idx) == 3
    with pytest.raises(KeyError):
        idx.by_index("nope", "x")
    with pytest.raises(ValueError):
        idx.add_indexers({NAMESPACE_INDEX: lambda o: []})


def test_indexer_index_added_late_covers_existing_objects() -> None:
    idx = Indexer()
    idx.add(pod("a", node="n1"))
    idx.add(pod("b", node="n2"))
    name = idx.add_field_index("spec.nodeName")
    assert idx.index_keys(name, "n2") == ["default/b"]
    idx.replace([pod("c", node="n2")])
    assert idx.index_keys(name, "n2") == ["default/c"]
    assert idx.list_keys() == ["default/c"]


def test_indexer_holds_each_object_once() -> None:
    idx = Indexer()
    idx.add_field_index("spec.nodeName")
    objs = [pod(f"p{i}", node=f"n{i % 10}") for i in range(1000)]
    for o in objs:
        idx.add(o)
    assert len(idx.index_keys(NAMESPACE_INDEX, "default")) == 1000
    assert all(idx.get_by_key(f"default/p{i}") is objs[i] for i in range(1000))


def test_lister_namespace_and_selectors() -> None:
    idx = Indexer()
    lister = Lister(idx)
    for o in [
        pod("a", "ns1", app="web", tier="fe"),
        pod("b", "ns1", app="db"),
        pod("c", "ns2", app="web"),
        pod("d", "ns2"),
    ]:
        idx.add(o)

    def names(objs: list[Obj]) -> list[str]:
        return sorted(o["metadata"]["name"] for o in objs)

    assert names(lister.list()) == ["a", "b", "c", "d"]
    assert names(lister.list("ns1")) == ["a", "b"]
    assert names(lister.list(selector="app=web")) == ["a", "c"]
    assert names(lister.list("ns2", "app=web")) == ["c"]
    assert names(lister.list(selector=parse_selector("app in (web,db),tier!=fe"))) == ["b", "c"]
    assert names(lister.list(selector="!app")) == ["d"]
    # With a label index the same answers come from the index.
    idx.add_label_index("app")
    assert names(lister.list(selector="app=web")) == ["a", "c"]
    assert names(lister.list("ns1", "app in (web,db)")) == ["a", "b"]
    assert names(lister.list(selector="app=web,tier=fe")) == ["a"]
    assert lister.get("ns1", "a") is idx.get_by_key("ns1/a")
    assert lister.get("ns1", "zzz") is None
    idx.add({"metadata": {"name": "node1"}})
    assert lister.get("", "node1") == {"metadata": {"name": "node1"}}


# -- informer against the fake --------------------------------------------------------------------


async def test_paginated_list_then_watch_delivers_events() -> None:
    client = FakeClient()
    for i in range(1203):
        client.put(pod(f"p{i:04d}", node=f"n{i % 3}"))
    inf = informer(client, page_size=500)
    rec = Recorder()
    rec.register(inf)
    node_index = inf.add_field_index("spec.nodeName")
    async with inf:
        assert await inf.wait_for_sync(5)
        assert inf.has_synced()
        assert [c.limit for c in client.list_calls] == [500, 500, 500]
        assert client.list_calls[0].continue_ == ""
        assert client.list_calls[1].continue_ != ""
        assert len(inf.indexer) == 1203
        assert len(rec.events) == 1203 and {e[0] for e in rec.events} == {"add"}
        assert len(inf.indexer.index_keys(node_index, "n1")) == 401

        await eventually(lambda: len(client.watch_calls) == 1)
        w = client.watch_calls[0]
        assert w.resource_version == str(client.rev)
        assert w.allow_watch_bookmarks
        rec.events.clear()
        client.put(pod("new", node="n1"))
        client.put(pod("p0000", node="n2"))
        client.remove("p0001")
        await eventually(lambda: len(rec.events) == 3)
        assert rec.kinds() == [
            ("add", "default/new"),
            ("update", "default/p0000"),
            ("delete", "default/p0001"),
        ]
        assert inf.lister.get("default", "p0000")["spec"]["nodeName"] == "n2"  # type: ignore[index]
        assert inf.lister.get("default", "p0001") is None
        assert inf.last_sync_resource_version == str(client.rev)
        assert len(client.list_calls) == 3


async def test_bookmark_advances_resume_point_without_relist() -> None:
    client = FakeClient()
    client.put(pod("a"))
    inf = informer(client)
    async with inf:
        await inf.wait_for_sync(5)
        await eventually(lambda: len(client.watch_calls) == 1)
        client.rev += 10  # other resources were written meanwhile
        client.bookmark()
        await eventually(lambda: inf.last_sync_resource_version == str(client.rev))
        bookmark_rv = client.rev
        client.end_watches()  # the server's watch timeout
        await eventually(lambda: len(client.watch_calls) == 2)
        assert client.watch_calls[1].resource_version == str(bookmark_rv)
        assert len(client.list_calls) == 1
        # And it still sees changes after the resume.
        client.put(pod("b"))
        await eventually(lambda: inf.lister.get("default", "b") is not None)


@pytest.mark.parametrize("how", ["error-event", "watch-call"])
async def test_gone_relists_and_delivers_the_diff(how: str) -> None:
    client = FakeClient()
    for name in "abc":
        client.put(pod(name))
    inf = informer(client)
    rec = Recorder()
    rec.register(inf)
    async with inf:
        await inf.wait_for_sync(5)
        await eventually(lambda: len(client.watch_calls) == 1)
        last_b = inf.lister.get("default", "b")
        rec.events.clear()
        client.paused = True  # the informer misses what follows
        client.remove("b")
        c2 = client.put(pod("c", node="n9"))
        client.put(pod("d"))
        client.compact()
        if how == "error-event":
            # The server drops the stream with a Gone ERROR event (a slow reader, compaction).
            client.end_watches(StatusError.too_old_resource_version(5, client.compacted))
        else:
            # The stream ends; the re-watch from the old resourceVersion gets a 410.
            client.end_watches()
        client.paused = False
        await eventually(lambda: len(client.list_calls) == 2)
        await eventually(lambda: len(rec.events) == 3)
        assert sorted(rec.kinds()) == [
            ("add", "default/d"),
            ("tombstone", "default/b"),
            ("update", "default/c"),
        ]
        tomb = next(e for e in rec.events if e[0] == "tombstone")
        assert tomb[2] == last_b["metadata"]["resourceVersion"]  # type: ignore[index]
        assert inf.lister.get("default", "c") == c2
        assert sorted(inf.indexer.list_keys()) == ["default/a", "default/c", "default/d"]
        assert client.list_calls[1].resource_version == ""
        # Watching resumes from the relist's revision.
        await eventually(lambda: client.watch_calls[-1].resource_version == str(client.rev))
        client.put(pod("e"))
        await eventually(lambda: ("add", "default/e") in rec.kinds())


async def test_expired_continue_token_falls_back_to_a_full_list() -> None:
    client = FakeClient()
    for i in range(25):
        client.put(pod(f"p{i:02d}"))
    client.compact_after_first_page = True
    inf = informer(client, page_size=10)
    async with inf:
        assert await inf.wait_for_sync(5)
        assert [(c.limit, bool(c.continue_)) for c in client.list_calls] == [
            (10, False),
            (10, True),
            (0, False),
        ]
        assert len(inf.indexer) == 25


async def test_label_selector_is_sent_and_leaving_the_selection_is_a_delete() -> None:
    client = FakeClient()
    client.put(pod("a", app="web"))
    client.put(pod("b", app="db"))
    inf = informer(client, options=ListOptions(label_selector="app=web", limit=3))
    rec = Recorder()
    rec.register(inf)
    async with inf:
        await inf.wait_for_sync(5)
        assert client.list_calls[0].label_selector == "app=web"
        assert inf.indexer.list_keys() == ["default/a"]
        await eventually(lambda: len(client.watch_calls) == 1)
        assert client.watch_calls[0].label_selector == "app=web"
        client.put(pod("a", app="other"))
        client.put(pod("b", app="web"))
        await eventually(lambda: len(rec.events) == 3)
        assert rec.kinds()[1:] == [("delete", "default/a"), ("add", "default/b")]
        assert inf.indexer.list_keys() == ["default/b"]


async def test_other_watch_errors_rewatch_from_last_rv_without_relist() -> None:
    client = FakeClient()
    client.put(pod("a"))
    inf = informer(client)
    async with inf:
        await inf.wait_for_sync(5)
        await eventually(lambda: len(client.watch_calls) == 1)
        client.put(pod("b"))
        await eventually(lambda: inf.lister.get("default", "b") is not None)
        rv = inf.last_sync_resource_version
        client.end_watches(StatusError.internal_error("etcd went away"))
        await eventually(lambda: len(client.watch_calls) == 2)
        assert client.watch_calls[1].resource_version == rv
        assert len(client.list_calls) == 1


async def test_handlers_errors_async_and_late_registration() -> None:
    client = FakeClient()
    client.put(pod("a"))
    inf = informer(client)
    boom_calls: list[str] = []

    def boom(obj: Obj) -> None:
        boom_calls.append(obj["metadata"]["name"])
        raise RuntimeError("handler bug")

    seen_async: list[str] = []

    async def slow_add(obj: Obj) -> None:
        await asyncio.sleep(0)
        seen_async.append(obj["metadata"]["name"])

    inf.add_event_handler(on_add=boom)
    reg_async = inf.add_event_handler(on_add=slow_add)
    rec = Recorder()
    rec.register(inf)
    async with inf:
        assert await inf.wait_for_sync(5)
        assert reg_async.has_synced()
        assert seen_async == ["a"]
        client.put(pod("b"))
        await eventually(lambda: seen_async == ["a", "b"] and len(rec.events) == 2)
        assert boom_calls == ["a", "b"]
        # A handler added after the sync is told about every cached object first.
        late = Recorder()
        reg = late.register(inf)
        assert reg.has_synced()
        assert sorted(late.kinds()) == [("add", "default/a"), ("add", "default/b")]
        await inf.remove_event_handler(reg)
        client.put(pod("c"))
        await eventually(lambda: len(rec.events) == 3)
        assert len(late.events) == 2


async def test_filter_func_turns_updates_into_adds_and_deletes() -> None:
    client = FakeClient()
    client.put(pod("a"))
    inf = informer(client)
    rec = Recorder()
    inf.add_event_handler(
        rec.on_add,
        rec.on_update,
        rec.on_delete,
        filter_func=lambda o: bool(tombstone_object(o)["spec"].get("nodeName")),
    )
    async with inf:
        await inf.wait_for_sync(5)
        assert rec.events == []
        client.put(pod("a", node="n1"))  # scheduled: enters the filter
        client.put(pod("a", node="n2"))
        client.put(pod("a"))  # leaves it
        await eventually(lambda: len(rec.events) == 3)
        assert [k for k, _ in rec.kinds()] == ["add", "update", "delete"]


async def test_resync_redelivers_cached_objects() -> None:
    client = FakeClient()
    client.put(pod("a"))
    inf = informer(client, resync_period=0.01)
    rec = Recorder()
    rec.register(inf)
    async with inf:
        await eventually(lambda: rec.kinds().count(("update", "default/a")) >= 2)


async def test_list_errors_back_off_and_retry() -> None:
    client = FakeClient()
    client.put(pod("a"))
    real_list = client.list
    failures = [StatusError.service_unavailable("not ready"), RuntimeError("connection reset")]

    async def flaky_list(*args: Any, **kwargs: Any) -> ObjList:
        if failures:
            raise failures.pop(0)
        return await real_list(*args, **kwargs)

    client.list = flaky_list  # type: ignore[method-assign]
    inf = informer(client)
    async with inf:
        assert await inf.wait_for_sync(5)
        assert inf.list_count == 1
        assert inf.indexer.list_keys() == ["default/a"]


async def test_wait_for_sync_times_out_and_stop_is_idempotent() -> None:
    client = FakeClient()

    async def never(*args: Any, **kwargs: Any) -> ObjList:
        await asyncio.Event().wait()
        raise AssertionError

    client.list = never  # type: ignore[method-assign]
    inf = informer(client)
    inf.start()
    assert inf.start() is inf.start()
    assert not await inf.wait_for_sync(0.01)
    await inf.stop()
    await inf.stop()


async def test_factory_shares_informers_per_selection() -> None:
    client = FakeClient()
    client.put(pod("a", app="web"))
    client.put(pod("b"))
    factory = InformerFactory(cast(Any, client))
    pods = factory.informer("pods")
    assert factory.informer("pods", options=ListOptions(limit=7)) is pods
    web = factory.informer("pods", options=ListOptions(label_selector="app=web"))
    assert web is not pods
    async with factory:
        assert await factory.wait_for_sync(5)
        assert len(pods.indexer) == 2
        assert web.indexer.list_keys() == ["default/a"]
    assert len(factory.informers) == 2


def test_backoff_sequence_jitter_and_reset() -> None:
    now = [0.0]
    b = Backoff(rng=lambda: 0.5, clock=lambda: now[0])
    seq = [b.next() for _ in range(8)]
    # 0.8 s doubling, capped at 30 s, then jittered (x1.5 with rng 0.5).
    assert seq == pytest.approx([1.2, 2.4, 4.8, 9.6, 19.2, 38.4, 45.0, 45.0])
    now[0] += 121
    assert b.next() == pytest.approx(1.2)


def test_is_gone() -> None:
    assert is_gone(StatusError.gone("x"))
    assert is_gone(StatusError.too_old_resource_version(1, 2))
    assert not is_gone(StatusError.internal_error("x"))
    assert not is_gone(ValueError())


# -- informer against InProcessClient over the real apiserver core and store --------------------


class Wrapped:
    """Delegates to a real client; records list/watch options, can hold the next watch call and
    end the open streams (as a server timeout does)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.list_calls: list[ListOptions] = []
        self.watch_calls: list[ListOptions] = []
        self.streams: list[Any] = []
        self.hold: asyncio.Event | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def list(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> ObjList:
        self.list_calls.append(options or ListOptions())
        result: ObjList = await self.inner.list(resource, namespace, options)
        return result

    async def watch(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> Any:
        self.watch_calls.append(options or ListOptions())
        if self.hold is not None:
            await self.hold.wait()
        stream = await self.inner.watch(resource, namespace, options)
        self.streams.append(stream)
        return stream

    async def end_watches(self) -> None:
        streams, self.streams = self.streams, []
        for s in streams:
            await s.close()


@pytest.fixture
async def real() -> AsyncIterator[tuple[Any, Wrapped, Any]]:
    from kubemu.apiserver.handlers import APIServer
    from kubemu.apiserver.storage import EmbeddedStorage
    from kubemu.store import Store

    store = Store()
    server = APIServer(EmbeddedStorage(store), bookmark_interval=0.02, watch_queue_size=50)
    client = InProcessClient(server)
    try:
        yield store, Wrapped(client), server
    finally:
        await client.close()
        await server.close()
        store.close()


async def test_inprocess_list_watch_and_relist_after_compaction(
    real: tuple[Any, Wrapped, Any],
) -> None:
    store, client, _ = real
    for name in "abc":
        await client.create("pods", "default", pod(name))
    inf = informer(client, page_size=2)
    rec = Recorder()
    rec.register(inf)
    async with inf:
        assert await inf.wait_for_sync(5)
        assert len(client.list_calls) == 2  # paged: 2 + 1
        assert sorted(inf.indexer.list_keys()) == ["default/a", "default/b", "default/c"]
        await eventually(lambda: len(client.watch_calls) == 1)
        await client.create("pods", "default", pod("x"))
        await eventually(lambda: ("add", "default/x") in rec.kinds())

        # Hold the informer off the server while objects change and history is compacted.
        last_b = inf.lister.get("default", "b")
        rec.events.clear()
        client.hold = asyncio.Event()
        await client.end_watches()
        await eventually(lambda: len(client.watch_calls) == 2)
        await client.delete("pods", "default", "b", DeleteOptions(grace_period_seconds=0))
        c = await client.get("pods", "default", "c")
        c["metadata"]["labels"] = {"changed": "yes"}
        await client.update("pods", "default", c)
        await client.create("pods", "default", pod("d"))
        store.compact(store.revision)
        client.hold.set()
        client.hold = None

        await eventually(lambda: len(client.list_calls) >= 3 and len(rec.events) == 3)
        assert sorted(rec.kinds()) == [
            ("add", "default/d"),
            ("tombstone", "default/b"),
            ("update", "default/c"),
        ]
        tomb = next(e for e in rec.events if e[0] == "tombstone")
        assert tomb[2] == last_b["metadata"]["resourceVersion"]  # type: ignore[index]
        assert sorted(inf.indexer.list_keys()) == [
            "default/a",
            "default/c",
            "default/d",
            "default/x",
        ]
        await client.create("pods", "default", pod("e"))
        await eventually(lambda: ("add", "default/e") in rec.kinds())


async def test_inprocess_bookmarks_advance_resume_point(real: tuple[Any, Wrapped, Any]) -> None:
    _, client, _ = real
    await client.create("pods", "default", pod("a"))
    inf = informer(client)
    async with inf:
        assert await inf.wait_for_sync(5)
        await eventually(lambda: len(client.watch_calls) == 1)
        assert client.watch_calls[0].allow_watch_bookmarks
        # Writes to another resource move the store's revision; only bookmarks tell the informer.
        cm = await client.create(
            "configmaps",
            "default",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}},
        )
        cm_rv = cm["metadata"]["resourceVersion"]
        await eventually(lambda: int(inf.last_sync_resource_version) >= int(cm_rv))
        await client.end_watches()
        await eventually(lambda: len(client.watch_calls) == 2)
        assert int(client.watch_calls[1].resource_version) >= int(cm_rv)
        assert len(client.list_calls) == 1
        await client.create("pods", "default", pod("b"))
        await eventually(lambda: inf.lister.get("default", "b") is not None)


async def test_inprocess_selectors_are_applied_by_the_server(
    real: tuple[Any, Wrapped, Any],
) -> None:
    _, client, _ = real
    await client.create("pods", "default", pod("web1", app="web"))
    await client.create("pods", "default", pod("db1", app="db"))
    await client.create(
        "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}
    )
    await client.create("pods", "other", pod("web2", "other", app="web"))
    by_label = informer(client, options=ListOptions(label_selector="app=web"))
    in_ns = informer(client, namespace="other")
    rec = Recorder()
    rec.register(by_label)
    async with by_label, in_ns:
        assert await by_label.wait_for_sync(5)
        assert await in_ns.wait_for_sync(5)
        assert sorted(by_label.indexer.list_keys()) == ["default/web1", "other/web2"]
        assert in_ns.indexer.list_keys() == ["other/web2"]
        await eventually(lambda: len(client.watch_calls) == 2)
        web1 = await client.get("pods", "default", "web1")
        web1["metadata"]["labels"] = {"app": "retired"}
        await client.update("pods", "default", web1)
        db1 = await client.get("pods", "default", "db1")
        db1["metadata"]["labels"] = {"app": "web"}
        await client.update("pods", "default", db1)
        await eventually(lambda: len(rec.events) == 4)
        assert rec.kinds()[2:] == [("delete", "default/web1"), ("add", "default/db1")]
        assert [o["metadata"]["name"] for o in by_label.lister.list("other", "app=web")] == ["web2"]
        assert sorted(by_label.indexer.list_keys()) == ["default/db1", "other/web2"]


async def test_inprocess_field_selector_and_node_index(real: tuple[Any, Wrapped, Any]) -> None:
    _, client, _ = real
    for name, node in [("p1", ""), ("p2", ""), ("p3", "")]:
        await client.create("pods", "default", pod(name, node=node))
    unscheduled = informer(client, options=ListOptions(field_selector="spec.nodeName="))
    everything = informer(client)
    node_index = everything.add_field_index("spec.nodeName")
    async with unscheduled, everything:
        assert await unscheduled.wait_for_sync(5)
        assert await everything.wait_for_sync(5)
        assert len(unscheduled.indexer) == 3
        await eventually(lambda: len(client.watch_calls) == 2)
        await client.bind("default", "p1", "node-a")
        await client.bind("default", "p2", "node-b")
        await eventually(lambda: len(unscheduled.indexer) == 1)
        await eventually(
            lambda: everything.indexer.index_keys(node_index, "node-a") == ["default/p1"]
        )
        assert everything.indexer.index_keys(node_index, "") == ["default/p3"]
        assert unscheduled.indexer.list_keys() == ["default/p3"]


async def test_inprocess_slow_watcher_dropped_relists(real: tuple[Any, Wrapped, Any]) -> None:
    _, client, _ = real
    inf = informer(client)
    rec = Recorder()
    rec.register(inf)
    async with inf:
        assert await inf.wait_for_sync(5)
        await eventually(lambda: len(client.watch_calls) == 1)
        # One batch of 200 creates: more than the server's per-stream queue (50) at once.
        result = await client.create_many("pods", "default", [pod(f"p{i:03d}") for i in range(200)])
        assert result.ok
        await eventually(lambda: len(inf.indexer) == 200)
        assert len({key for _, key in rec.kinds()}) == 200
        # The server dropped the stream with a Gone ERROR; the relist filled the gap, and every
        # pod was announced exactly once (by the watch before the drop or by the relist diff).
        assert len(client.list_calls) == 2
        assert sorted(rec.kinds()) == [("add", f"default/p{i:03d}") for i in range(200)]
