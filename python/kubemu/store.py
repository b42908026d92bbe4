"""The Pythonic face of the Rust MVCC store (the etcd role of the cluster).

Names mirror etcd's API: ``put``, ``range``, ``delete_range``, ``txn``,
``compact``, ``watch``, ``lease_*``, ``snapshot_save``, ``status``. Every call
releases the GIL while Rust works; ``put_many`` and ``txn`` carry a whole batch
in one crossing.

Keys and values are bytes. ``range_end``: ``None`` for one key, ``b"\\0"`` for
every key from ``key`` on, else the half-open interval ``[key, range_end)``
(:func:`prefix_end` gives the end of a prefix).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from kubemu._core import (
    CompactedError,
    Compare,
    CorruptionError,
    DeleteRangeResponse,
    DuplicateKeyError,
    Event,
    FutureRevisionError,
    InvalidArgumentError,
    KeyNotFoundError,
    KeyValue,
    LeaseExistsError,
    LeaseGrant,
    LeaseNotFoundError,
    LeaseTimeToLive,
    NoSpaceError,
    Op,
    PutResponse,
    RangeResponse,
    RequestTooLargeError,
    Status,
    StoreClosedError,
    StoreError,
    TooManyOpsError,
    TxnResponse,
    WatchResponse,
    WatchStream,
    snapshot_restore,
)
from kubemu._core import Store as _CoreStore

if TYPE_CHECKING:
    from kubemu._core import WatchFilter

__all__ = [
    "CompactedError",
    "Compare",
    "CorruptionError",
    "DeleteRangeResponse",
    "DuplicateKeyError",
    "Event",
    "FutureRevisionError",
    "InvalidArgumentError",
    "KeyNotFoundError",
    "KeyValue",
    "LeaseExistsError",
    "LeaseGrant",
    "LeaseNotFoundError",
    "LeaseTimeToLive",
    "NoSpaceError",
    "Op",
    "PutResponse",
    "RangeResponse",
    "RequestTooLargeError",
    "Status",
    "Store",
    "StoreClosedError",
    "StoreError",
    "TooManyOpsError",
    "TxnResponse",
    "Watch",
    "WatchResponse",
    "WatchStream",
    "prefix_end",
    "restore",
]

restore = snapshot_restore


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with ``prefix`` (etcd's GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\x00"


class _Closing:
    """Context-manager use: leaving the block calls ``close()``."""

    if TYPE_CHECKING:

        def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Watch(_Closing):
    """One watch on its own stream: iterate it (blocking) or ``async for`` it.

    Yields :class:`WatchResponse` objects after the ``created`` one; stops after
    a cancel (by :meth:`cancel`, or by the store when the watch fell behind
    compaction: check ``compact_revision`` on the last response).
    """

    def __init__(self, stream: WatchStream, watch_id: int) -> None:
        self.stream = stream
        self.id = watch_id
        self._done = False

    def _accept(self, responses: list[WatchResponse]) -> list[WatchResponse]:
        out: list[WatchResponse] = []
        for r in responses:
            if r.created and not r.canceled:
                continue
            if r.canceled:
                self._done = True
                if r.compact_revision or r.cancel_reason:
                    out.append(r)
                break
            out.append(r)
        return out

    def get(self, timeout: float | None = None) -> list[WatchResponse]:
        """Responses ready within ``timeout`` seconds (None: wait for at least one)."""
        if self._done:
            return []
        return self._accept(self.stream.poll(timeout=timeout))

    def events(self, timeout: float | None = None) -> list[Event]:
        """The events of :meth:`get`, flattened."""
        return [e for r in self.get(timeout) for e in r.events]

    def __iter__(self) -> Iterator[WatchResponse]:
        while not self._done:
            yield from self.get(timeout=None)

    async def __aiter__(self) -> AsyncIterator[WatchResponse]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        fd = self.stream.fileno()
        loop.add_reader(fd, ready.set)
        try:
            while not self._done:
                batch = self._accept(self.stream.poll(timeout=0.0))
                if not batch:
                    await ready.wait()
                    ready.clear()
                    continue
                for r in batch:
                    yield r
        finally:
            loop.remove_reader(fd)

    def cancel(self) -> None:
        """Stops the watch; iteration ends."""
        self.stream.cancel(self.id)
        self._done = True

    def close(self) -> None:
        self.stream.close()
        self._done = True


class Store(_CoreStore, _Closing):
    """The MVCC watchable store; ``Store()`` in memory, ``Store(data_dir)`` durable.

    A context manager: leaving the block closes the store (flushing the WAL).
    """

    def watch(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Sequence[WatchFilter] = (),
        progress_notify: bool = False,
        max_pending_events: int = 65536,
    ) -> Watch:
        """Watches a key or range on a stream of its own.

        For many watches, open one :meth:`watch_stream` and add them to it.
        """
        stream = self.watch_stream(max_pending_events=max_pending_events)
        wid = stream.watch(
            key,
            range_end,
            start_revision=start_revision,
            prev_kv=prev_kv,
            filters=filters,
            progress_notify=progress_notify,
        )
        return Watch(stream, wid)

    def get(self, key: bytes, *, revision: int = 0) -> KeyValue | None:
        """The key's KeyValue at ``revision`` (0: now), or None."""
        kvs = self.range(key, revision=revision).kvs
        return kvs[0] if kvs else None
