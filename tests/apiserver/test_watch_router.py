"""The Rust watch router (RoutedHub) against the Python hub (ResourceHub): the same streams over
the same store writes get the same events, for generated writes (creates, modifications that
move objects in and out of selections, deletes, documents only a decode reads) and filters
(namespaces, field equality/inequality, node pools, label selectors), with streams joining
late from recent revisions (the replay buffer) or older ones (a private hub)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from kubemu._core import WatchRouter
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.apiserver.codec import decode_trusted, encode
from kubemu.apiserver.fieldpaths import StateReader
from kubemu.apiserver.watch import (
    ResourceHub,
    RoutedHub,
    ServerWatch,
    WatchFanout,
    WatchFilter,
    WatchItem,
)
from kubemu.objects.fields import FieldSelector, Term
from kubemu.objects.kinds.base import Kind
from kubemu.objects.labels import Requirement, Selector
from kubemu.store import Store

Obj = dict[str, Any]

NAMESPACES = ("ns-a", "ns-b")
NODES = ("", "n1", "n2", "n3")
LABEL_KEYS = ("app", "tier")
LABEL_VALUES = ("web", "db", "5", "12")


def _pod(name: str, ns: str, node: Any, labels: Any, phase: str) -> Obj:
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    if labels is not None:
        obj["metadata"]["labels"] = labels
    if node is not None:
        obj["spec"]["nodeName"] = node
    if phase:
        obj["status"] = {"phase": phase}
    return obj


label_values = st.one_of(st.sampled_from(LABEL_VALUES), st.none())
labels_st = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2),
    # Only a decode reads these: a nil label value, labels that are not a map.
    st.dictionaries(st.sampled_from(LABEL_KEYS), label_values, max_size=2),
    st.just(["not", "a", "map"]),
)
# An int nodeName is read by a decode (the router's rules only judge strs).
node_st = st.one_of(st.sampled_from(NODES), st.none(), st.just(7))


@st.composite
def label_selectors(draw: st.DrawFn) -> Selector:
    if draw(st.integers(0, 9)) == 0:
        return Selector.match_nothing()
    reqs = []
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(LABEL_KEYS))
        op = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]))
        if op in ("exists", "!"):
            values: tuple[str, ...] = ()
        elif op in ("in", "notin"):
            values = tuple(draw(st.sets(st.sampled_from(LABEL_VALUES), min_size=1, max_size=2)))
        elif op in ("gt", "lt"):
            values = (draw(st.sampled_from(["4", "10", "-1"])),)
        else:
            values = (draw(st.sampled_from(LABEL_VALUES)),)
        reqs.append(Requirement(key, op, values))
    return Selector.of(reqs)


@st.composite
def filters(draw: st.DrawFn) -> WatchFilter:
    ns = draw(st.sampled_from(("", *NAMESPACES)))
    terms = []
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
        field = draw(st.sampled_from(["spec.nodeName", "status.phase", "metadata.name"]))
        value = draw(st.sampled_from(("", "n1", "n2", "Running", "p0")))
        terms.append(Term(field, value, draw(st.booleans())))
    node_names = None
    if draw(st.integers(0, 3)) == 0:
        node_names = draw(st.frozensets(st.sampled_from(NODES), max_size=3))
    labels = Selector.everything()
    if draw(st.integers(0, 2)) == 0:
        labels = draw(label_selectors())
    return WatchFilter(ns, labels, FieldSelector(tuple(sorted(terms, key=str))), node_names)


@dataclass(frozen=True)
class Write:
    name: str
    ns: str
    node: Any
    labels: Any
    phase: str
    delete: bool


@dataclass(frozen=True)
class Join:
    filter: WatchFilter
    back: int
    """Revisions before the current one the stream starts after."""


class Pump:
    """Let the hubs dispatch everything written so far."""


writes = st.builds(
    Write,
    name=st.sampled_from(("p0", "p1", "p2")),
    ns=st.sampled_from(NAMESPACES),
    node=node_st,
    labels=labels_st,
    phase=st.sampled_from(("", "Running", "Pending")),
    delete=st.integers(0, 4).map(lambda i: i == 0),
)
ops = st.lists(
    st.one_of(
        writes,
        writes,
        st.builds(Join, filter=filters(), back=st.integers(0, 8)),
        st.just(Pump()),
    ),
    min_size=1,
    max_size=40,
)


def _kind() -> Kind:
    return APIServer(EmbeddedStorage(Store(fsync=False)), bootstrap=False).kind("pods")


KIND = _kind()


def _write(storage: EmbeddedStorage, w: Write) -> int:
    """The write's revision (0: a delete of nothing)."""
    key = KIND.key(w.ns, w.name)
    current = storage.get(key)
    if w.delete:
        if current is None:
            return 0
        return storage.delete(key, current.revision).revision
    value = encode(_pod(w.name, w.ns, w.node, w.labels, w.phase))
    if current is None:
        return storage.create(key, value)
    return storage.update(key, value, current.revision)


async def _settle(streams: list[ServerWatch], revision: int) -> None:
    """Until the hub of every stream has dispatched ``revision``."""
    for _ in range(2000):
        hubs = {s.hub for s in streams if s.hub is not None}
        if all(h.dispatched >= revision for h in hubs):  # type: ignore[union-attr]
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the hubs did not catch up")


async def _scenario(steps: list[Any], buffer_size: int) -> None:
    storage = EmbeddedStorage(Store(fsync=False))
    fanouts = [
        WatchFanout(storage, buffer_size=buffer_size, queue_size=10_000, rust_router=rust)
        for rust in (False, True)
    ]
    pairs: list[tuple[ServerWatch, ServerWatch]] = []
    last = 0
    compared = 0
    try:
        for step in steps:
            if isinstance(step, Write):
                last = _write(storage, step) or last
            elif isinstance(step, Join):
                after = max(storage.revision - step.back, 0)
                pair = []
                for f in fanouts:
                    s = ServerWatch(
                        f, KIND, step.filter, after_revision=after, bookmarks=False, timeout=None
                    )
                    f.subscribe(s)
                    pair.append(s)
                pairs.append((pair[0], pair[1]))
            else:
                await _settle([s for p in pairs for s in p], last)
        await _settle([s for p in pairs for s in p], last)
        for py_stream, rs_stream in pairs:
            assert isinstance(py_stream.hub, ResourceHub)
            assert isinstance(rs_stream.hub, RoutedHub)
            want: list[WatchItem] = py_stream.drain(100_000)
            got: list[WatchItem] = rs_stream.drain(100_000)
            assert got == want, py_stream.filter
            compared += len(want)
        event("events compared: " + ("none" if not compared else "some"))
    finally:
        for f in fanouts:
            await f.close()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    first=st.lists(st.builds(Join, filter=filters(), back=st.just(0)), min_size=1, max_size=4),
    steps=ops,
    buffer_size=st.sampled_from([0, 3, 10_000]),
)
def test_router_matches_the_python_hub(
    first: list[Join], steps: list[Any], buffer_size: int
) -> None:
    asyncio.run(_scenario([*first, *steps], buffer_size))


def _join(fanout: WatchFanout, flt: WatchFilter, after: int) -> ServerWatch:
    s = ServerWatch(fanout, KIND, flt, after_revision=after, bookmarks=False, timeout=None)
    fanout.subscribe(s)
    return s


async def test_transitions_in_and_out_of_a_node_selection() -> None:
    storage = EmbeddedStorage(Store(fsync=False))
    fanout = WatchFanout(storage)
    on_n1 = _join(fanout, WatchFilter(fields=FieldSelector((Term("spec.nodeName", "n1"),))), 0)
    pool = _join(fanout, WatchFilter(node_names=frozenset({"n1", "n2"})), 0)
    assert isinstance(on_n1.hub, RoutedHub)
    for node in ("", "n1", "n2", "n9"):
        _write(storage, Write("p0", "ns-a", node, None, "", False))
    last = _write(storage, Write("p0", "ns-a", None, None, "", True))
    await _settle([on_n1, pool], last)
    n1 = on_n1.drain()
    assert [(t, rv) for t, rv, _ in n1] == [("ADDED", 3), ("DELETED", 4)]
    # Leaving the selection: DELETED carries the previous content at the event's revision.
    assert n1[1][2] == encode(_pod("p0", "ns-a", "n1", None, ""))
    assert [(t, rv) for t, rv, _ in pool.drain()] == [("ADDED", 3), ("MODIFIED", 4), ("DELETED", 5)]
    await fanout.close()


async def test_a_late_stream_is_replayed_from_the_buffer() -> None:
    storage = EmbeddedStorage(Store(fsync=False))
    fanout = WatchFanout(storage, buffer_size=2)
    first = _join(fanout, WatchFilter(), 0)
    for i in range(4):
        last = _write(storage, Write(f"p{i}", "ns-a", "n1", None, "", False))
    await _settle([first], last)
    hub = first.hub
    assert isinstance(hub, RoutedHub) and hub.floor == 3  # revisions 2..5 written
    late = _join(fanout, WatchFilter(namespace="ns-a"), 3)
    assert late.hub is hub
    assert [rv for _, rv, _ in late.drain()] == [4, 5]
    older = _join(fanout, WatchFilter(namespace="ns-a"), 2)
    assert isinstance(older.hub, RoutedHub) and older.hub is not hub  # a private hub
    await _settle([older], last)
    assert [rv for _, rv, _ in older.drain()] == [3, 4, 5]
    await fanout.close()


class _Wrapped:
    """A Storage that is not the embedded one (as another backend would be)."""

    def __init__(self, inner: EmbeddedStorage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_other_storages_use_the_python_hub() -> None:
    storage = EmbeddedStorage(Store(fsync=False))
    fanout = WatchFanout(_Wrapped(storage))  # type: ignore[arg-type]
    s = _join(fanout, WatchFilter(fields=FieldSelector((Term("spec.nodeName", "n1"),))), 0)
    assert isinstance(s.hub, ResourceHub)
    await _settle([s], _write(storage, Write("p0", "ns-a", "n1", None, "", False)))
    assert [(t, rv) for t, rv, _ in s.drain()] == [("ADDED", 2)]
    await fanout.close()


@pytest.mark.parametrize("rust", [False, True])
async def test_an_undecodable_document_fails_the_streams(rust: bool) -> None:
    storage = EmbeddedStorage(Store(fsync=False))
    fanout = WatchFanout(storage, rust_router=rust)
    s = _join(fanout, WatchFilter(namespace="ns-a"), 0)
    storage.create(KIND.key("ns-a", "bad"), b"\x81\xa8metadata")  # truncated msgpack
    batch = await asyncio.wait_for(s.next_batch(), 2.0)
    assert [t for t, _, _ in batch] == ["ERROR"]
    status = decode_trusted(batch[0][2])
    assert status["code"] == 500
    assert s.closed
    await fanout.close()


def _router(store: Store, start: int, **kw: Any) -> WatchRouter:
    reader = StateReader(KIND)
    return WatchRouter(store, KIND.prefix(), start, reader.rules, reader.decode, **kw)


def _poll_all(router: WatchRouter) -> list[tuple[int, list[WatchItem]]]:
    out: list[tuple[int, list[WatchItem]]] = []
    for _ in range(100):
        got = router.poll()
        if got is None:
            break
        out.extend(got)
    return out


def test_router_reports_compaction_of_a_lagging_watch() -> None:
    store = Store(fsync=False)
    storage = EmbeddedStorage(store)
    router = _router(store, store.revision + 1, max_pending_events=1)
    router.add(1, 0, namespace="ns-a")
    for i in range(4):  # more than the watch may have pending: it must catch up
        _write(storage, Write(f"p{i}", "ns-a", "n1", None, "", False))
    store.compact(store.revision)
    got = _poll_all(router)
    # Revision 2 was delivered before the watch fell behind; 3 is compacted.
    assert [(sid, [rv for _, rv, _ in items]) for sid, items in got] == [(1, [2])]
    assert router.ended
    assert router.compacted == (3, store.compact_revision)
    assert router.poll() is None


def test_router_progress_and_close() -> None:
    store = Store(fsync=False)
    storage = EmbeddedStorage(store)
    router = _router(store, store.revision + 1)
    router.add(7, 0, fields=[("spec.nodeName", "n1", True)])
    rev = _write(storage, Write("p0", "ns-a", "n1", None, "", False))
    assert _poll_all(router) == [(7, [("ADDED", rev, storage.get(KIND.key("ns-a", "p0")).value)])]  # type: ignore[union-attr]
    store.put(b"/elsewhere", b"x")  # outside the prefix: only a progress notification tells
    router.request_progress()
    _poll_all(router)
    assert router.dispatched == rev
    assert router.progress_revision == store.revision
    assert len(router) == 1 and router.remove(7) and not router.remove(7)
    router.close()
    assert router.ended and router.poll() is None and router.compacted is None


def test_router_rejects_bad_arguments() -> None:
    store = Store(fsync=False)
    reader = StateReader(KIND)
    with pytest.raises(ValueError, match="unknown rule"):
        WatchRouter(store, b"/p/", 1, [("x", ("a",), "nope")], reader.decode)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="prefix"):
        WatchRouter(store, b"", 1, reader.rules, reader.decode)
    with pytest.raises(ValueError, match="start_revision"):
        WatchRouter(store, b"/p/", 0, reader.rules, reader.decode)
    store.put(b"/p/a", b"x")
    store.put(b"/p/a", b"y")
    store.compact(store.revision)
    # From a compacted revision: created, then canceled as compacted (as etcd).
    router = WatchRouter(store, b"/p/", 1, reader.rules, reader.decode)
    assert _poll_all(router) == []
    assert router.ended and router.compacted == (1, store.compact_revision)


@pytest.mark.parametrize("rust", [False, True])
async def test_a_hub_from_a_compacted_revision_fails_its_streams(rust: bool) -> None:
    store = Store(fsync=False)
    storage = EmbeddedStorage(store)
    for i in range(3):
        _write(storage, Write(f"p{i}", "ns-a", "n1", None, "", False))
    store.compact(store.revision)
    fanout = WatchFanout(storage, rust_router=rust)
    s = ServerWatch(fanout, KIND, WatchFilter(), after_revision=1, bookmarks=False, timeout=None)
    fanout.subscribe(s)
    assert isinstance(s.hub, RoutedHub if rust else ResourceHub)
    batch = await asyncio.wait_for(s.next_batch(), 2.0)
    assert [t for t, _, _ in batch] == ["ERROR"]
    status = decode_trusted(batch[0][2])
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert status["message"] == f"too old resource version: 2 ({store.compact_revision})"
    await fanout.close()
