"""``GrpcWatchStream``: an open watch over gRPC (a server stream of ``WatchBatch`` messages,
each the packed events ``[type0, rv0, object0, ...]`` of :mod:`kubemu.apiserver.grpc_wire`)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc  # type: ignore[import-untyped]

from kubemu.apiserver.grpc_wire import split_events, unpack_events
from kubemu.client.buffered_watch import BufferedWatch
from kubemu.client.grpc_status import status_error_from_rpc
from kubemu.client.interface import EventType, RawWatchItem, WatchEvent, raw_item

__all__ = ["GrpcWatchStream"]


class GrpcWatchStream(BufferedWatch):
    """An open watch over gRPC: async-iterate for :class:`WatchEvent`; ``close()`` cancels.
    ``batches()`` gives the events of each ``WatchBatch`` message as one list, and
    ``raw_batches()`` the same undecoded (:data:`RawWatchItem`: the objects' msgpack bytes
    are cut out of the message, not decoded).

    A transport failure mid-stream (server gone, stream refused) ends the stream with an ERROR
    event carrying its Status, so a reader handles it as any other watch error (relist)."""

    def __init__(self, call: Any) -> None:
        super().__init__()
        self._call = call
        self._closed = False
        self._ended = False

    def __aiter__(self) -> GrpcWatchStream:
        return self

    async def _next_events(self) -> list[WatchEvent] | None:
        """The next message's events (None: the stream has ended)."""
        data = await self._read()
        if data is None:
            return None
        if isinstance(data, WatchEvent):
            return [data]
        events = unpack_events(data)
        for i, ev in enumerate(events):
            if ev.type == EventType.ERROR:  # the last event of the stream
                self._ended = True
                del events[i + 1 :]
                break
        return events

    async def _next_raw(self) -> list[RawWatchItem] | None:
        """The next message's events undecoded (None: the stream has ended)."""
        data = await self._read()
        if data is None:
            return None
        if isinstance(data, WatchEvent):
            return [raw_item(data)]
        items = split_events(data)
        if items and items[-1][0] == "ERROR":
            self._ended = True
        return items

    async def _read(self) -> bytes | WatchEvent | None:
        """The next message's packed events; a transport failure as its ERROR event; None at
        the end."""
        if self._ended:
            return None
        try:
            batch = await self._call.read()
        except grpc.aio.AioRpcError as e:
            self._ended = True
            if not self._closed and e.code() != grpc.StatusCode.CANCELLED:
                return WatchEvent(EventType.ERROR, status_error_from_rpc(e).to_status())
            return None
        except (grpc.aio.UsageError, asyncio.CancelledError):
            if not self._closed:
                raise
            self._ended = True  # read after cancel
            return None
        if batch is grpc.aio.EOF:
            self._ended = True
            return None
        events: bytes = batch.events
        return events

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._call.cancel()
