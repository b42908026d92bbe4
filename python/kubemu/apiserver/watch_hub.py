"""The Python watch hub: one storage watch of one resource, fanned out to its streams.

A :class:`ResourceHub` reads each event's namespace, labels and selectable fields once (from
the stored bytes, without decoding them, for the kinds
:class:`~kubemu.apiserver.fieldpaths.StateReader` knows) and offers it to the client streams
that can match: streams are indexed by the exact field value they select on
(``spec.nodeName=n``, or every name of ``node_names`` for a node pool), else by namespace, else
kept in an unindexed set. It serves any :class:`~kubemu.apiserver.storage.Storage`; over the
embedded store the fan-out runs in Rust instead (:mod:`kubemu.apiserver.watch_router`), with
the same semantics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any, Final

from kubemu.apiserver.fieldpaths import StateReader, labels_of
from kubemu.apiserver.storage import StorageCompacted, StoredEvent, WatchSubscription
from kubemu.apiserver.watch_stream import ADDED, DELETED, MODIFIED, ServerWatch
from kubemu.gcpause import gc_paused
from kubemu.objects.errors import StatusError
from kubemu.objects.kinds.base import Kind

if TYPE_CHECKING:
    from kubemu.apiserver.watch import WatchFanout

__all__ = ["ResourceHub"]


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
                    if old is None and ev.type == "PUT" and ev.prev_value and not stream.trivial:
                        # Dispatched while no stream needed previous states.
                        old = _State(self.reader, ev.prev_value)
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
