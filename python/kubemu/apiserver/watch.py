"""Watch fan-out: one store watch per resource, shared by every client stream of it.

A :class:`ResourceHub` runs one store watch on a resource's prefix, reads each event's
namespace, labels and selectable fields once (from the stored bytes, without decoding them,
for the kinds :class:`~kubemu.apiserver.fieldpaths.StateReader` knows) and offers it to the
client streams that can match: streams are indexed by the exact field value they select on
(``spec.nodeName=n``, or every name of ``node_names`` for a node pool), else by namespace, else
kept in an unindexed set.
A filter is applied to the new and (for modifications) the previous state, as kube-apiserver's
watch cache does: an object that leaves a stream's selection is sent as DELETED (its previous
content with the event's resourceVersion), one that enters it as ADDED.

The hub keeps the last :attr:`WatchFanout.buffer_size` events, so a client that watches from a
recent resourceVersion (an informer after its list) joins the shared stream; a client from an
older, uncompacted revision gets a private hub on its own store watch. Each client stream has a
bounded queue: one that falls :attr:`WatchFanout.queue_size` events behind is sent an ERROR event
with a Gone Status and closed; the hub never waits for it.

Events carry the stored bytes (:class:`RawObject`), never re-encoded; consumers decode.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from kubemu.apiserver.codec import decode_all, decode_trusted, encode
from kubemu.apiserver.fieldpaths import StateReader, labels_of
from kubemu.apiserver.storage import Storage, StorageCompacted, StoredEvent, WatchSubscription
from kubemu.client.interface import EventType, WatchEvent
from kubemu.gcpause import gc_paused
from kubemu.objects.errors import StatusError
from kubemu.objects.fields import FieldSelector
from kubemu.objects.kinds.base import Kind
from kubemu.objects.labels import Selector
from kubemu.objects.meta import set_resource_version

if TYPE_CHECKING:
    from kubemu.apiserver.metrics import Metrics

__all__ = [
    "ADDED",
    "BOOKMARK",
    "DELETED",
    "ERROR",
    "MODIFIED",
    "RawObject",
    "RawWatchEvent",
    "ResourceHub",
    "ServerWatch",
    "WatchFanout",
    "WatchFilter",
    "WatchItem",
    "compile_filter",
    "item_event",
    "watch_events",
]

ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
DELETED: Final = "DELETED"
BOOKMARK: Final = "BOOKMARK"
ERROR: Final = "ERROR"

Obj = dict[str, Any]


class RawObject:
    """An object as stored (msgpack without resourceVersion) and its resourceVersion."""

    __slots__ = ("data", "resource_version")

    def __init__(self, data: bytes, resource_version: int) -> None:
        self.data = data
        self.resource_version = resource_version

    def __repr__(self) -> str:
        return f"RawObject(<{len(self.data)} bytes>, {self.resource_version})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RawObject)
            and other.data == self.data
            and other.resource_version == self.resource_version
        )

    __hash__ = None  # type: ignore[assignment]

    def decode(self) -> Obj:
        obj = decode_trusted(self.data)
        set_resource_version(obj, self.resource_version)
        return obj


@dataclass(frozen=True, slots=True)
class RawWatchEvent:
    """``type`` ADDED/MODIFIED/DELETED/BOOKMARK carry ``object``; ERROR carries ``status``."""

    type: str
    object: RawObject | None = None
    status: Obj | None = None

    def decode(self) -> Obj:
        if self.object is not None:
            return self.object.decode()
        return dict(self.status or {})


@dataclass(frozen=True, slots=True)
class WatchFilter:
    namespace: str = ""
    labels: Selector = field(default_factory=Selector.everything)
    fields: FieldSelector = field(default_factory=FieldSelector)
    node_names: frozenset[str] | None = None

    @property
    def trivial(self) -> bool:
        """Passes or fails the same for every state of one object (namespace never changes)."""
        return self.labels.empty and self.fields.empty and self.node_names is None

    def matches(self, namespace: str, labels: Any, fields: dict[str, str]) -> bool:
        if self.namespace and namespace != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(
            labels if isinstance(labels, dict) else {}
        ):
            return False
        if not self.fields.empty and not self.fields.matches(fields):
            return False
        return self.node_names is None or fields.get("spec.nodeName", "") in self.node_names

    def index_keys(self) -> list[tuple[str, str]]:
        if self.node_names is not None:
            return [("spec.nodeName", n) for n in self.node_names]
        for t in self.fields.terms:
            if t.equal:
                return [(t.field, t.value)]
        if self.namespace:
            return [("metadata.namespace", self.namespace)]
        return []


Match = Callable[[str, Any, dict[str, str]], bool]


def _everything(namespace: str, labels: Any, fields: dict[str, str]) -> bool:
    return True


def compile_filter(flt: WatchFilter) -> Match:
    """``flt.matches`` specialised for the common shapes (one namespace, one ``field=value``
    term, ``node_names``): the hub calls it once per event and stream."""
    ns = flt.namespace
    if not flt.labels.empty or len(flt.fields.terms) > 1:
        return flt.matches
    if flt.node_names is not None:
        if flt.fields.terms:
            return flt.matches
        names = flt.node_names
        if ns:
            return lambda n, lb, f: n == ns and f.get("spec.nodeName", "") in names
        return lambda n, lb, f: f.get("spec.nodeName", "") in names
    if flt.fields.terms:
        t = flt.fields.terms[0]
        name, value, equal = t.field, t.value, t.equal
        if ns:
            return lambda n, lb, f: n == ns and (f.get(name, "") == value) == equal
        return lambda n, lb, f: (f.get(name, "") == value) == equal
    if ns:
        return lambda n, lb, f: n == ns
    return _everything


class _State:
    """One state of an object, read once for every stream: its namespace and selectable
    fields from the stored bytes (:class:`StateReader`, no decode for the kinds it knows), its
    labels on first use (only label selectors read them)."""

    __slots__ = ("_labels", "_raw_labels", "fields", "namespace")

    def __init__(self, reader: StateReader, data: bytes) -> None:
        read = reader.read(data)
        if read is None:
            self.namespace, labels, self.fields = reader.decode(data)
            self._labels: Any = labels
            self._raw_labels: Any = None
        else:
            self.namespace, self._raw_labels, self.fields = read
            self._labels = _UNREAD

    @property
    def labels(self) -> Any:
        labels = self._labels
        if labels is _UNREAD:
            labels = self._labels = labels_of(self._raw_labels)
        return labels


_UNREAD: Final = object()
_NO_LABELS: Final[dict[str, str]] = {}
"""Passed to filters that do not read labels."""


WatchItem = tuple[str, int, bytes]
"""A queued event: (type, resourceVersion, msgpack bytes). ADDED/MODIFIED/DELETED/BOOKMARK:
the object as stored (without ``metadata.resourceVersion``; the resourceVersion is the second
field); ERROR: the Status, resourceVersion 0."""


def item_event(item: WatchItem) -> RawWatchEvent:
    etype, rv, data = item
    if etype == ERROR:
        return RawWatchEvent(ERROR, status=decode_trusted(data))
    return RawWatchEvent(etype, RawObject(data, rv))


def watch_events(items: Sequence[WatchItem]) -> list[WatchEvent]:
    """Client :class:`WatchEvent` s of queued items, each object a fresh dict with its
    ``metadata.resourceVersion`` (for a large batch the cyclic GC is paused meanwhile: the
    fresh dicts hold no cycles, and collections set off by them would walk every live
    object)."""
    out: list[WatchEvent] = []
    append = out.append
    types = _EVENT_TYPES
    with gc_paused(len(items) > 100):
        objs = decode_all([data for _, _, data in items])
        for (etype, rv, _), obj in zip(items, objs, strict=True):
            if rv:
                set_resource_version(obj, rv)
            append(WatchEvent(types.get(etype) or EventType(etype), obj))
    return out


_EVENT_TYPES = {t.value: t for t in EventType}


class ServerWatch:
    """One client's watch stream: async-iterate for :class:`RawWatchEvent`, or take what is
    queued in batches (:meth:`next_batch`, :meth:`drain`: :data:`WatchItem` tuples, no
    per-event await); ``close()`` ends it."""

    def __init__(
        self,
        fanout: WatchFanout,
        kind: Kind,
        flt: WatchFilter,
        *,
        after_revision: int,
        bookmarks: bool,
        timeout: float | None,
        initial: Iterable[WatchItem] = (),
    ) -> None:
        self.fanout = fanout
        self.kind = kind
        self.filter = flt
        self.match = compile_filter(flt)
        self.reads_labels = not flt.labels.empty
        """The filter reads labels (the hub reads them from the object only then)."""
        self.trivial = flt.trivial
        self.after_revision = after_revision
        self.last_revision = after_revision
        self.bookmarks = bookmarks
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.hub: ResourceHub | None = None
        self._initial: deque[WatchItem] = deque(initial)
        self._queue: deque[WatchItem] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self._ended = False
        self._next_bookmark: float | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Events :meth:`drain` can take now (bookmarks and the timeout aside)."""
        if self._ended:
            return 0
        return len(self._initial) + len(self._queue)

    def offer(self, etype: str, rv: int, data: bytes) -> None:
        """Queue an event (the hub's fan-out); a stream ``queue_size`` events behind is sent
        an ERROR Gone and detached."""
        if self._closed:
            return
        queue = self._queue
        if len(queue) >= self.fanout.queue_size:
            queue.clear()
            err = StatusError.gone(
                f"watch of {self.kind.group_resource} fell behind: more than "
                f"{self.fanout.queue_size} events pending; relist"
            )
            queue.append((ERROR, 0, encode(err.to_status())))
            self._detach()
        else:
            queue.append((etype, rv, data))
            self.last_revision = rv
        self._ready.set()

    def fail(self, err: StatusError) -> None:
        """End the stream with an ERROR event (the hub's store watch failed)."""
        if self._closed:
            return
        self._queue.append((ERROR, 0, encode(err.to_status())))
        self._detach()
        self._ready.set()

    def _detach(self) -> None:
        self._closed = True
        hub, self.hub = self.hub, None
        if hub is not None:
            hub.remove(self)

    async def close(self) -> None:
        self._detach()
        self._ended = True
        self._ready.set()

    def _bookmark(self) -> WatchItem | None:
        hub = self.hub
        if hub is None:
            return None
        hub.request_progress()
        rv = max(hub.progress_revision, self.last_revision)
        if rv <= 0:
            return None
        self.last_revision = rv
        doc = {"kind": self.kind.kind, "apiVersion": self.kind.api_version, "metadata": {}}
        return (BOOKMARK, rv, encode(doc))

    def __aiter__(self) -> ServerWatch:
        return self

    async def __anext__(self) -> RawWatchEvent:
        if not await self.wait():
            raise StopAsyncIteration
        return item_event(self.drain(1)[0])

    async def next_batch(self, max_events: int = 1_000, max_bytes: int = 0) -> list[WatchItem]:
        """Wait for events (or the end: ``[]``), then :meth:`drain`."""
        if not await self.wait():
            return []
        return self.drain(max_events, max_bytes)

    def drain(self, max_events: int = 1_000, max_bytes: int = 0) -> list[WatchItem]:
        """The events queued now, in order, without waiting: at most ``max_events``, and once
        their objects reach ``max_bytes`` (if set) no more (at least one). After an ERROR
        event the stream has ended."""
        out: list[WatchItem] = []
        if self._ended:
            return out
        initial = self._initial
        size = 0
        while initial and len(out) < max_events:
            item = initial.popleft()
            out.append(item)
            size += len(item[2])
            if max_bytes and size >= max_bytes:
                return out
        queue = self._queue
        room = max_events - len(out)
        if room <= 0 or not queue:
            return out
        before = len(out)
        if not max_bytes and len(queue) <= room:
            out.extend(queue)
            queue.clear()
        else:
            while queue and len(out) < max_events:
                item = queue.popleft()
                out.append(item)
                size += len(item[2])
                if max_bytes and size >= max_bytes:
                    break
        if out[-1][0] == ERROR:  # an ERROR is the last event ever queued
            self._ended = True
        self.fanout.count_events(self.kind, len(out) - before)
        return out

    async def wait(self) -> bool:
        """Until an event can be taken (True) or the stream has ended (False); sends
        bookmarks and ends the stream at its timeout meanwhile."""
        if self._initial and not self._ended:
            return True
        interval = self.fanout.bookmark_interval
        if self._next_bookmark is None:
            self._next_bookmark = time.monotonic() + interval
        while True:
            if self._ended:
                return False
            if self._queue:
                return True
            if self._closed:
                self._ended = True
                return False
            self._ready.clear()
            now = time.monotonic()
            wait: float | None = None
            if self.bookmarks:
                wait = max(self._next_bookmark - now, 0.0)
            if self.deadline is not None:
                left = max(self.deadline - now, 0.0)
                wait = left if wait is None else min(wait, left)
            if wait is None:
                await self._ready.wait()
                continue
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), wait)
            now = time.monotonic()
            if self._queue:
                continue
            if self.deadline is not None and now >= self.deadline:
                self._detach()
                self._ended = True
                return False
            if self.bookmarks and now >= self._next_bookmark:
                self._next_bookmark = now + interval
                bm = self._bookmark()
                if bm is not None:
                    self._queue.append(bm)
                    return True


class ResourceHub:
    """One store watch of one resource, fanned out to :class:`ServerWatch` streams."""

    def __init__(
        self, fanout: WatchFanout, kind: Kind, start_revision: int, *, shared: bool
    ) -> None:
        self.fanout = fanout
        self.kind = kind
        self.shared = shared
        self.floor = start_revision - 1
        """Every event after this revision is in the buffer or still to come."""
        self.dispatched = start_revision - 1
        self.buffer: deque[tuple[StoredEvent, _State, _State | None]] = deque()
        self.states: OrderedDict[bytes, tuple[bytes, _State]] = OrderedDict()
        """The newest state of recently written keys (up to ``buffer_size``), so the
        previous state of a modification is not decoded again."""
        self.unindexed: set[ServerWatch] = set()
        self.index: dict[tuple[str, str], set[ServerWatch]] = {}
        self.index_fields: dict[str, int] = {}
        self.complex_filters = 0
        self.needs_old = False
        self.count = 0
        self.reader = fanout.reader(kind)
        self.sub: WatchSubscription = fanout.storage.watch(kind.prefix(), start_revision)
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def progress_revision(self) -> int:
        return max(self.dispatched, self.sub.progress_revision)

    def request_progress(self) -> None:
        with contextlib.suppress(Exception):
            self.sub.request_progress()

    def add(self, stream: ServerWatch) -> None:
        """Subscribe ``stream`` (its ``after_revision`` ≥ :attr:`floor`): replay the buffered
        events it has not seen, then live ones."""
        stream.hub = self
        keys = stream.filter.index_keys()
        if keys:
            for k in keys:
                self.index.setdefault(k, set()).add(stream)
            f = keys[0][0]
            self.index_fields[f] = self.index_fields.get(f, 0) + 1
        else:
            self.unindexed.add(stream)
        if not stream.trivial:
            self.complex_filters += 1
        self.needs_old = self._needs_old()
        self.count += 1
        self.fanout.watchers_changed(self.kind, +1)
        if stream.after_revision < self.dispatched:
            for ev, new, old in self.buffer:
                if ev.revision > stream.after_revision:
                    self._offer(stream, ev, new, old)

    def remove(self, stream: ServerWatch) -> None:
        keys = stream.filter.index_keys()
        if keys:
            for k in keys:
                s = self.index.get(k)
                if s is not None:
                    s.discard(stream)
                    if not s:
                        del self.index[k]
            f = keys[0][0]
            self.index_fields[f] -= 1
            if not self.index_fields[f]:
                del self.index_fields[f]
        else:
            self.unindexed.discard(stream)
        if not stream.trivial:
            self.complex_filters -= 1
        self.needs_old = self._needs_old()
        self.count -= 1
        self.fanout.watchers_changed(self.kind, -1)
        if self.count == 0:
            self.stop()

    def stop(self) -> None:
        self.fanout.hub_stopped(self)
        self.sub.close()
        self.task.cancel()

    async def _run(self) -> None:
        try:
            async for batch in self.sub:
                # The states and queued items made here hold no cycles: with the cyclic GC
                # paused for a large batch, the collections they would set off (each walking
                # the older generations now and then) do not happen per few hundred events.
                with gc_paused(len(batch) > 100):
                    for ev in batch:
                        self._dispatch(ev)
        except StorageCompacted as e:
            self._fail(StatusError.too_old_resource_version(e.requested, e.compact_revision))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never leave streams hanging
            self._fail(StatusError.internal_error(e))
        else:
            self._fail(StatusError.gone("the watch of the store ended; relist"))

    def _fail(self, err: StatusError) -> None:
        self.fanout.hub_stopped(self)
        streams = list(self.unindexed) + [s for ss in self.index.values() for s in ss]
        for s in set(streams):
            s.fail(err)
        self.sub.close()

    def _needs_old(self) -> bool:
        if self.complex_filters:
            return True
        return any(f != "metadata.namespace" for f in self.index_fields)

    def _state(self, ev: StoredEvent) -> tuple[_State, _State | None]:
        """The new state (of a delete: the last one) and, when a filter needs it, the
        previous state of a modification; remembered per key for the next event."""
        reader = self.reader
        states = self.states
        key = ev.key
        old: _State | None = None
        if ev.type == "DELETE":
            cached = states.pop(key, None)
            if cached is not None and cached[0] == ev.value:
                return cached[1], None
            return _State(reader, ev.value), None
        prev = ev.prev_value
        if prev is not None:
            cached = states.pop(key, None)
            if self.needs_old:
                if cached is not None and cached[0] == prev:
                    old = cached[1]
                else:
                    old = _State(reader, prev)
        new = _State(reader, ev.value)
        states[key] = (ev.value, new)
        if len(states) > max(self.fanout.buffer_size, 1):
            states.popitem(last=False)
        return new, old

    def _dispatch(self, ev: StoredEvent) -> None:
        if not ev.value:  # a delete whose previous value is no longer known
            self.dispatched = ev.revision
            return
        new, old = self._state(ev)
        self.dispatched = ev.revision
        if self.fanout.buffer_size:
            self.buffer.append((ev, new, old))
            if len(self.buffer) > self.fanout.buffer_size:
                gone, _, _ = self.buffer.popleft()
                self.floor = gone.revision
        else:
            self.floor = ev.revision
        if not self.count:
            return
        index = self.index
        targets: set[ServerWatch] | None = set(self.unindexed) if self.unindexed else None
        for f in self.index_fields:
            if f == "metadata.namespace":
                s = index.get((f, new.namespace))
            else:
                s = index.get((f, new.fields.get(f, "")))
                if old is not None:
                    s_old = index.get((f, old.fields.get(f, "")))
                    if s_old and s_old is not s:
                        if targets is None:
                            targets = set(s_old)
                        else:
                            targets |= s_old
            if s:
                if targets is None:
                    targets = set(s)
                else:
                    targets |= s
        if targets:
            offer = self._offer
            for stream in targets:
                offer(stream, ev, new, old)

    @staticmethod
    def _offer(stream: ServerWatch, ev: StoredEvent, new: _State, old: _State | None) -> None:
        rv = ev.revision
        if rv <= stream.after_revision:
            return
        match = stream.match
        labels = stream.reads_labels
        cur = match(new.namespace, new.labels if labels else _NO_LABELS, new.fields)
        if ev.type == "DELETE":
            if cur:
                stream.offer(DELETED, rv, ev.value)
            return
        if ev.prev_value is None:
            if cur:
                stream.offer(ADDED, rv, ev.value)
            return
        if stream.trivial or old is None:
            was = cur
        else:
            was = match(old.namespace, old.labels if labels else _NO_LABELS, old.fields)
        if cur and was:
            stream.offer(MODIFIED, rv, ev.value)
        elif cur:
            stream.offer(ADDED, rv, ev.value)
        elif was:
            stream.offer(DELETED, rv, ev.prev_value)


class WatchFanout:
    """The hubs of every resource, started on their first subscriber."""

    def __init__(
        self,
        storage: Storage,
        *,
        metrics: Metrics | None = None,
        queue_size: int = 10_000,
        buffer_size: int = 10_000,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.storage = storage
        self.metrics = metrics
        self.queue_size = queue_size
        self.buffer_size = buffer_size
        self.bookmark_interval = bookmark_interval
        self.hubs: dict[Kind, ResourceHub] = {}
        self._event_counters: dict[Kind, Any] = {}
        self._readers: dict[Kind, StateReader] = {}

    def reader(self, kind: Kind) -> StateReader:
        """The :class:`StateReader` of ``kind`` (one per kind, shared by its hubs)."""
        reader = self._readers.get(kind)
        if reader is None:
            reader = self._readers[kind] = StateReader(kind)
        return reader

    def subscribe(self, stream: ServerWatch) -> None:
        """Attach ``stream`` to the resource's shared hub (starting it), or to a private hub
        from its revision when the shared one no longer covers it."""
        kind = stream.kind
        hub = self.hubs.get(kind)
        start = stream.after_revision + 1
        if hub is None:
            hub = self.hubs[kind] = ResourceHub(self, kind, start, shared=True)
        elif stream.after_revision < hub.floor:
            hub = ResourceHub(self, kind, start, shared=False)
        hub.add(stream)

    def hub_stopped(self, hub: ResourceHub) -> None:
        if self.hubs.get(hub.kind) is hub:
            del self.hubs[hub.kind]

    def watchers_changed(self, kind: Kind, delta: int) -> None:
        if self.metrics is not None:
            self.metrics.registered_watchers.labels(kind.group_resource).inc(delta)

    def count_events(self, kind: Kind, n: int) -> None:
        if self.metrics is not None and n:
            counter = self._event_counters.get(kind)
            if counter is None:
                counter = self._event_counters[kind] = self.metrics.watch_events.labels(
                    kind.group_resource
                )
            counter.inc(n)

    async def close(self) -> None:
        for hub in list(self.hubs.values()):
            hub.stop()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await hub.task
