"""The client side of the multiplexed ``Call`` stream (proto/kubemu/v1): many unary calls on one
bidi stream, each carrying its method, an id and its serialized request; results come back in
completion order, matched by id."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import grpc  # type: ignore[import-untyped]

from kubemu.api import SERVICE, api_pb2

__all__ = ["MUX_BATCH_BYTES", "MUX_MAX_REQUEST", "MUX_METHODS", "CallMux"]


MUX_METHODS = frozenset({"Create", "Get", "Update", "UpdateStatus", "Patch", "Delete", "Bind"})
"""Single-object verbs sent over the multiplexed ``Call`` stream."""
MUX_MAX_REQUEST = 16 * 1024
"""Requests larger than this (serialized) go as their own unary call."""
MUX_BATCH_BYTES = 60 * 1024
"""A ``CallBatch`` is closed at this many bytes (below any server's receive limit, which is at
least the envelope margin of 64 KiB)."""


class CallMux:
    """One ``Call`` stream: requests queued by concurrent callers are written in batches; a
    reader resolves each caller's future by id. A failed stream fails every pending call with
    its error and is replaced on the next call."""

    def __init__(self, channel: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        self._call = channel.stream_stream(
            f"/{SERVICE}/Call",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=api_pb2.CallResultBatch.FromString,
        )(metadata=metadata)
        self._pending: dict[int, asyncio.Future[api_pb2.CallResult]] = {}
        self._queue: deque[api_pb2.CallRequest] = deque()
        self._wake = asyncio.Event()
        self._next_id = 1
        self.failed = False
        self._writer = asyncio.ensure_future(self._write())
        self._reader = asyncio.ensure_future(self._read())

    async def call(self, method: str, request: bytes) -> api_pb2.CallResult:
        call_id = self._next_id
        self._next_id += 1
        fut: asyncio.Future[api_pb2.CallResult] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = fut
        self._queue.append(api_pb2.CallRequest(id=call_id, method=method, request=request))
        self._wake.set()
        try:
            return await fut
        finally:
            self._pending.pop(call_id, None)

    async def _write(self) -> None:
        try:
            while True:
                while not self._queue:
                    self._wake.clear()
                    await self._wake.wait()
                calls: list[api_pb2.CallRequest] = []
                size = 0
                while self._queue and size < MUX_BATCH_BYTES - MUX_MAX_REQUEST:
                    call = self._queue.popleft()
                    calls.append(call)
                    size += len(call.request) + 32
                await self._call.write(api_pb2.CallBatch(calls=calls))
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            self._fail(e)

    async def _read(self) -> None:
        try:
            while True:
                batch = await self._call.read()
                if batch is grpc.aio.EOF:
                    raise grpc.aio.AioRpcError(
                        grpc.StatusCode.UNAVAILABLE,
                        grpc.aio.Metadata(),
                        grpc.aio.Metadata(),
                        details="the call stream ended",
                    )
                for result in batch.results:
                    fut = self._pending.get(result.id)
                    if fut is not None and not fut.done():
                        fut.set_result(result)
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            self._fail(e)

    def _fail(self, e: BaseException) -> None:
        self.failed = True
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(e)
        self._pending.clear()
        self._queue.clear()

    async def close(self) -> None:
        self.failed = True
        self._writer.cancel()
        self._reader.cancel()
        self._call.cancel()
        self._fail(asyncio.CancelledError())
