""":class:`BufferedWatch`: what both clients' watch streams share. A stream reads its source
a batch at a time (:meth:`~BufferedWatch._next_events` decoded, :meth:`~BufferedWatch._next_raw`
undecoded); this base hands the batches out as a
:class:`~kubemu.client.interface.BatchWatchStream` does: iteration yields the events one by
one (from a buffer of the current batch), ``batches()`` and ``raw_batches()`` a list per
batch. Whichever way it is read, the stream keeps its place: events already buffered by
iteration come first."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from kubemu.client.interface import RawWatchItem, WatchEvent, raw_item

__all__ = ["BufferedWatch"]


class BufferedWatch:
    """Base of a batch-reading watch stream; subclasses implement :meth:`_next_events`,
    :meth:`_next_raw` and ``close()``."""

    def __init__(self) -> None:
        self._buffer: deque[WatchEvent] = deque()

    async def _next_events(self) -> list[WatchEvent] | None:
        """The next batch of events, decoded (None: the stream has ended)."""
        raise NotImplementedError

    async def _next_raw(self) -> list[RawWatchItem] | None:
        """The next batch of events, undecoded (None: the stream has ended)."""
        raise NotImplementedError

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> WatchEvent:
        """The next event: from the current batch, else the next batch."""
        buffer = self._buffer
        while not buffer:
            events = await self._next_events()
            if events is None:
                raise StopAsyncIteration
            buffer.extend(events)
        return buffer.popleft()

    async def batches(self) -> AsyncIterator[list[WatchEvent]]:
        """The events, a list per batch, in order."""
        if self._buffer:
            out = list(self._buffer)
            self._buffer.clear()
            yield out
        while True:
            events = await self._next_events()
            if events is None:
                return
            if events:
                yield events

    async def raw_batches(self) -> AsyncIterator[list[RawWatchItem]]:
        """The events undecoded (:data:`~kubemu.client.interface.RawWatchItem`), a list per
        batch, in order."""
        if self._buffer:
            out = [raw_item(ev) for ev in self._buffer]
            self._buffer.clear()
            yield out
        while True:
            items = await self._next_raw()
            if items is None:
                return
            if items:
                yield items
