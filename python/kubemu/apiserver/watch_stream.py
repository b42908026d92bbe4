"""A client's watch stream on the server (:class:`ServerWatch`) and its queued items.

A stream has a bounded queue filled by its hub (:mod:`kubemu.apiserver.watch_hub`, or
:mod:`kubemu.apiserver.watch_router` over the embedded store): one that falls
``queue_size`` events behind is sent an ERROR event with a Gone Status and closed; the hub
never waits for it. Events carry the stored bytes, never re-encoded; consumers decode.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from kubemu.apiserver.codec import decode_all, decode_trusted, encode
from kubemu.apiserver.watch_filter import WatchFilter, compile_filter
from kubemu.client.interface import EventType, WatchEvent
from kubemu.gcpause import gc_paused
from kubemu.objects.errors import StatusError
from kubemu.objects.kinds.base import Kind
from kubemu.objects.meta import set_resource_version

if TYPE_CHECKING:
    from kubemu.apiserver.watch import WatchFanout

__all__ = [
    "ADDED",
    "BOOKMARK",
    "DELETED",
    "ERROR",
    "MODIFIED",
    "Hub",
    "RawObject",
    "RawWatchEvent",
    "ServerWatch",
    "WatchItem",
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


class Hub(Protocol):
    """What a stream needs of the hub that feeds it."""

    @property
    def progress_revision(self) -> int:
        """Every event up to this revision has been offered."""
        ...

    def request_progress(self) -> None: ...

    def remove(self, stream: ServerWatch) -> None: ...


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
        self.hub: Hub | None = None
        self._initial: deque[WatchItem] = deque(initial)
        self._queue: deque[WatchItem] = deque()
        self._waiter: asyncio.Future[None] | None = None
        """What :meth:`wait` awaits; resolved by :meth:`_wake`."""
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
            self._fell_behind()
        else:
            queue.append((etype, rv, data))
            self.last_revision = rv
        self._wake()

    def offer_many(self, items: Sequence[WatchItem]) -> None:
        """:meth:`offer` of each item, in order (a stream that would fall ``queue_size``
        events behind on one of them is sent the ERROR Gone instead of all of them)."""
        if self._closed or not items:
            return
        if len(self._queue) + len(items) > self.fanout.queue_size:
            self._queue.clear()
            self._fell_behind()
        else:
            self._queue.extend(items)
            self.last_revision = items[-1][1]
        self._wake()

    def fail(self, err: StatusError) -> None:
        """End the stream with an ERROR event (the hub's store watch failed)."""
        if self._closed:
            return
        self._queue.append((ERROR, 0, encode(err.to_status())))
        self._detach()
        self._wake()

    def _fell_behind(self) -> None:
        err = StatusError.gone(
            f"watch of {self.kind.group_resource} fell behind: more than "
            f"{self.fanout.queue_size} events pending; relist"
        )
        self._queue.append((ERROR, 0, encode(err.to_status())))
        self._detach()

    def _detach(self) -> None:
        self._closed = True
        hub, self.hub = self.hub, None
        if hub is not None:
            hub.remove(self)

    async def close(self) -> None:
        self._detach()
        self._ended = True
        self._wake()

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
        if self._next_bookmark is None:
            self._next_bookmark = time.monotonic() + self.fanout.bookmark_interval
        if not self.bookmarks and self.deadline is None:
            # wait() without timers, inline: one future per wake-up.
            while not (self._queue or self._initial) and not self._closed:
                waiter = self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await waiter
                finally:
                    if self._waiter is waiter:
                        self._waiter = None
        if (self._queue or self._initial) and not self._ended:
            return self.drain(max_events, max_bytes)
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

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _sleep(self, timeout: float | None) -> None:
        """Until :meth:`_wake` (an event, the end) or ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        handle = None if timeout is None else loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            if handle is not None:
                handle.cancel()
            if self._waiter is waiter:
                self._waiter = None

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
            now = time.monotonic()
            wait: float | None = None
            if self.bookmarks:
                wait = max(self._next_bookmark - now, 0.0)
            if self.deadline is not None:
                left = max(self.deadline - now, 0.0)
                wait = left if wait is None else min(wait, left)
            if wait is None:
                await self._sleep(None)
                continue
            if wait > 0:
                await self._sleep(wait)
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


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
