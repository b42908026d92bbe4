"""``GrpcClient``: the :class:`~kubemu.client.interface.Client` protocol over gRPC
(proto/kubemu/v1, grpc.aio).

Errors come back as the same :class:`StatusError` the in-process client raises: the server puts
the whole ``Status`` (msgpack) in the ``kubemu-status-bin`` trailing metadata. When a failure has
no Status (the transport refused a message over its size limit, the server is unreachable, a
deadline passed) the error is built from the gRPC code: ``RequestEntityTooLarge``,
``ServiceUnavailable``, ``Timeout``, ``InternalError``.
"""

from __future__ import annotations

import asyncio
import builtins
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc  # type: ignore[import-untyped]
import msgpack  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError, Message

from kubemu.api import DEFAULT_GRPC_PORT, SERVICE, STATUS_TRAILER, WATCH_STARTED, api_pb2
from kubemu.apiserver.codec import decode_trusted, encode
from kubemu.client.interface import (
    BatchResult,
    DeleteOptions,
    EventType,
    ListOptions,
    Obj,
    ObjList,
    PatchType,
    RawWatchItem,
    WatchEvent,
    raw_item,
)
from kubemu.gcpause import gc_paused
from kubemu.objects.errors import StatusError
from kubemu.objects.meta import set_resource_version

__all__ = [
    "GrpcClient",
    "GrpcWatchStream",
    "PackedList",
    "parse_list_response",
    "split_events",
    "status_error_from_rpc",
    "unpack_events",
    "unpack_items",
]

DEFAULT_ADDRESS = f"127.0.0.1:{DEFAULT_GRPC_PORT}"

Deserialize = Callable[[bytes], Any]
"""A response's deserializer (``Message.FromString`` or a hand-written parser)."""


def status_error_from_rpc(e: Any) -> StatusError:
    """The StatusError of a failed call (``grpc.aio.AioRpcError``)."""
    for key, value in e.trailing_metadata() or ():
        if key == STATUS_TRAILER:
            try:
                return StatusError.from_status(decode_trusted(bytes(value)))
            except Exception:
                break
    code = e.code()
    details = e.details() or str(code)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return StatusError.request_entity_too_large(details)
    if code == grpc.StatusCode.UNAVAILABLE:
        return StatusError.service_unavailable(details)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return StatusError.timeout(details)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return StatusError.unauthorized(details)
    return StatusError.internal_error(details)


def _decode(raw: api_pb2.RawObject) -> Obj:
    obj = decode_trusted(raw.data)
    if raw.resource_version:
        set_resource_version(obj, raw.resource_version)
    return obj


def _list_options(o: ListOptions | None) -> api_pb2.ListOptions:
    o = o or ListOptions()
    msg = api_pb2.ListOptions(
        label_selector=o.label_selector,
        field_selector=o.field_selector,
        limit=o.limit,
        resource_version=o.resource_version,
        resource_version_match=o.resource_version_match,
        allow_watch_bookmarks=o.allow_watch_bookmarks,
        has_node_names=o.node_names is not None,
        node_names=sorted(o.node_names or ()),
    )
    setattr(msg, "continue", o.continue_)
    if o.timeout_seconds is not None:
        msg.timeout_seconds = o.timeout_seconds
    return msg


def _delete_options(o: DeleteOptions | None) -> api_pb2.DeleteOptions:
    o = o or DeleteOptions()
    msg = api_pb2.DeleteOptions(dry_run=o.dry_run)
    if o.grace_period_seconds is not None:
        msg.grace_period_seconds = o.grace_period_seconds
    if o.preconditions_uid is not None:
        msg.preconditions_uid = o.preconditions_uid
    if o.preconditions_resource_version is not None:
        msg.preconditions_resource_version = o.preconditions_resource_version
    if o.propagation_policy is not None:
        msg.propagation_policy = o.propagation_policy
    return msg


def unpack_items(data: bytes | memoryview, *, promote: bool = False) -> list[Obj]:
    """The objects of a packed ``ListResponse.items`` (msgpack ``[rv0, object0, ...]``), each
    with its ``metadata.resourceVersion`` set: one msgpack call for the whole list, with the
    cyclic GC paused meanwhile (the fresh dicts cannot form cycles; otherwise collections set
    off by them walk every live object again and again). ``promote``: the objects go
    straight to the oldest generation (``gc_paused(promote=True)``), for one chunk of many
    whose young collections between chunks would walk them."""
    if not data:
        return []
    flat = _unpack_many(data, promote=promote)
    items: list[Obj] = flat[1::2]
    for rv, obj in zip(flat[0::2], items, strict=True):
        if rv:
            set_resource_version(obj, rv)
    return items


def _unpack_many(data: bytes | memoryview, *, promote: bool = False) -> list[Any]:
    with gc_paused(promote=promote):
        flat: list[Any] = decode_trusted(data)  # type: ignore[assignment]
    return flat


def split_events(data: bytes) -> list[RawWatchItem]:
    """The events of a ``WatchBatch`` undecoded: (type, rv, the object's msgpack bytes cut out
    of the message)."""
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(len(data), 1024))
    unpacker.feed(data)
    unpack, skip, tell = unpacker.unpack, unpacker.skip, unpacker.tell
    out: list[RawWatchItem] = []
    append = out.append
    for _ in range(unpacker.read_array_header() // 3):
        etype = unpack()
        rv = unpack()
        start = tell()
        skip()
        append((etype, rv, data[start : tell()]))
    return out


def unpack_events(data: bytes) -> list[WatchEvent]:
    """The events of a ``WatchBatch`` (msgpack ``[type0, rv0, object0, ...]``)."""
    flat = _unpack_many(data)
    out: list[WatchEvent] = []
    for i in range(0, len(flat), 3):
        etype, rv, obj = flat[i], flat[i + 1], flat[i + 2]
        if rv:
            set_resource_version(obj, rv)
        out.append(WatchEvent(_EVENT_TYPES.get(etype) or EventType(etype), obj))
    return out


_EVENT_TYPES = {t.value: t for t in EventType}


class PackedList:
    """A LIST response with its items undecoded, as received: ``chunks`` are the packed
    msgpack arrays ``[rv0, object0, rv1, object1, ...]`` of the response's messages, in order
    (views into the received messages: nothing was copied or decoded). ``len()`` is the number
    of objects (read from the arrays' headers); :attr:`items` is the whole list as one packed
    array; :meth:`raw_items` cuts the objects out as bytes; :meth:`decode` gives the
    :class:`ObjList` that ``GrpcClient.list`` returns."""

    __slots__ = (
        "api_version",
        "chunks",
        "continue_",
        "kind",
        "remaining_item_count",
        "resource_version",
    )

    def __init__(
        self,
        kind: str = "",
        api_version: str = "",
        resource_version: str = "",
        chunks: Sequence[bytes | memoryview] = (),
        continue_: str = "",
        remaining_item_count: int | None = None,
    ) -> None:
        self.kind = kind
        self.api_version = api_version
        self.resource_version = resource_version
        self.chunks: list[bytes | memoryview] = [c for c in chunks if len(c)]
        self.continue_ = continue_
        self.remaining_item_count = remaining_item_count

    def __len__(self) -> int:
        return sum(_array_len(c)[0] for c in self.chunks) // 2

    @property
    def items(self) -> bytes:
        """The whole list as one packed msgpack array (joined: a copy when there are several
        chunks)."""
        if len(self.chunks) == 1:
            return bytes(self.chunks[0])
        n, parts = 0, []
        for c in self.chunks:
            count, header = _array_len(c)
            n += count
            parts.append(c[header:])
        return b"".join([b"\xdd" + n.to_bytes(4, "big"), *parts]) if n else b""

    def raw_items(self) -> list[tuple[int, bytes]]:
        """(resourceVersion, the object's msgpack bytes) per object, in order; an rv of 0
        means the object carries its own."""
        out: list[tuple[int, bytes]] = []
        append = out.append
        for data in self.chunks:
            unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(len(data), 1024))
            unpacker.feed(data)
            unpack, skip, tell = unpacker.unpack, unpacker.skip, unpacker.tell
            for _ in range(unpacker.read_array_header() // 2):
                rv = unpack()
                start = tell()
                skip()
                append((rv, bytes(data[start : tell()])))
        return out

    def decode(self) -> ObjList:
        """Every object a dict with its resourceVersion (one msgpack call per chunk, GC
        paused)."""
        items: list[Obj] = []
        for c in self.chunks:
            items += unpack_items(c)
        return ObjList(
            kind=self.kind,
            api_version=self.api_version,
            resource_version=self.resource_version,
            items=items,
            continue_=self.continue_,
            remaining_item_count=self.remaining_item_count,
        )


def _array_len(data: bytes | memoryview) -> tuple[int, int]:
    """(element count, header size) of the msgpack array at the start of ``data``."""
    unpacker = msgpack.Unpacker(max_buffer_size=16)
    unpacker.feed(bytes(data[:5]))
    n: int = unpacker.read_array_header()
    return n, unpacker.tell()


def _varint_at(buf: memoryview, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise DecodeError("malformed varint")


_LIST_STRINGS = {1: "kind", 2: "api_version", 3: "resource_version", 4: "continue_"}


def parse_list_response(data: bytes) -> PackedList:
    """A serialized ``ListResponse`` read without protobuf's copy of ``items`` (a view into
    ``data``); DecodeError if malformed. Unknown fields are skipped, as protobuf does."""
    buf = memoryview(data)
    out = PackedList()
    i, end = 0, len(buf)
    try:
        while i < end:
            tag, i = _varint_at(buf, i)
            field, wire = tag >> 3, tag & 7
            if wire == 2:
                size, i = _varint_at(buf, i)
                if i + size > end:
                    raise DecodeError("truncated field")
                value = buf[i : i + size]
                i += size
                if field == 7:
                    if len(value):
                        out.chunks = [value]
                elif field in _LIST_STRINGS:
                    setattr(out, _LIST_STRINGS[field], str(value, "utf-8"))
            elif wire == 0:
                value_int, i = _varint_at(buf, i)
                if field == 5:
                    if value_int >= 1 << 63:
                        value_int -= 1 << 64
                    out.remaining_item_count = value_int
            elif wire == 1:
                i += 8
            elif wire == 5:
                i += 4
            else:
                raise DecodeError(f"unexpected wire type {wire}")
    except (IndexError, UnicodeDecodeError) as e:
        raise DecodeError(f"malformed ListResponse: {e}") from None
    if i != end:
        raise DecodeError("truncated ListResponse")
    return out


def _batch(r: api_pb2.BatchResponse) -> BatchResult:
    result = BatchResult()
    for item in r.items:
        if item.status:
            result.objects.append(None)
            result.errors.append(StatusError.from_status(decode_trusted(item.status)))
        else:
            result.objects.append(_decode(item.object) if item.HasField("object") else None)
            result.errors.append(None)
    return result


class GrpcWatchStream:
    """An open watch over gRPC: async-iterate for :class:`WatchEvent`; ``close()`` cancels.
    ``batches()`` gives the events of each ``WatchBatch`` message as one list, and
    ``raw_batches()`` the same undecoded (:data:`RawWatchItem`: the objects' msgpack bytes
    are cut out of the message, not decoded).

    A transport failure mid-stream (server gone, stream refused) ends the stream with an ERROR
    event carrying its Status, so a reader handles it as any other watch error (relist)."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._closed = False
        self._ended = False
        self._buffer: deque[WatchEvent] = deque()

    def __aiter__(self) -> GrpcWatchStream:
        return self

    async def __anext__(self) -> WatchEvent:
        """The next event: from the current batch, else the next message's batch. The stream
        keeps its place whoever iterates it (``aiter`` again continues where it was)."""
        buffer = self._buffer
        while not buffer:
            events = await self._next_events()
            if events is None:
                raise StopAsyncIteration
            buffer.extend(events)
        return buffer.popleft()

    async def batches(self) -> AsyncIterator[list[WatchEvent]]:
        """The events, a list per message received, in order."""
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
        """The events undecoded, a list per message received, in order."""
        if self._buffer:
            out = [raw_item(ev) for ev in self._buffer]
            self._buffer.clear()
            yield out
        while True:
            data = await self._read()
            if data is None:
                return
            if isinstance(data, WatchEvent):
                yield [raw_item(data)]
                continue
            items = split_events(data)
            if items and items[-1][0] == "ERROR":
                self._ended = True
            if items:
                yield items

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


MUX_METHODS = frozenset({"Create", "Get", "Update", "UpdateStatus", "Patch", "Delete", "Bind"})
"""Single-object verbs sent over the multiplexed ``Call`` stream."""
MUX_MAX_REQUEST = 16 * 1024
"""Requests larger than this (serialized) go as their own unary call."""
MUX_BATCH_BYTES = 60 * 1024
"""A ``CallBatch`` is closed at this many bytes (below any server's receive limit, which is at
least the envelope margin of 64 KiB)."""


class _Mux:
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


class GrpcClient:
    """The apiserver's API over gRPC. ``address``: ``host:port`` or ``unix:/path``;
    ``token``: sent as ``authorization: Bearer <token>``. ``multiplex``: single-object verbs
    share one ``Call`` stream (default) instead of one unary RPC each."""

    def __init__(
        self, address: str = DEFAULT_ADDRESS, token: str | None = None, *, multiplex: bool = True
    ) -> None:
        self.address = address
        self.multiplex = multiplex
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )
        self._channel: Any = None
        self._stubs: dict[str, Any] = {}
        self._chunked_list = True
        self._mux: _Mux | None = None

    def _open(self) -> Any:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(
                self.address,
                options=[
                    ("grpc.max_receive_message_length", -1),
                    ("grpc.max_send_message_length", -1),
                ],
            )
        return self._channel

    def _stub(self, method: str, response: Deserialize, stream: bool = False) -> Any:
        stub = self._stubs.get(method)
        if stub is None:
            channel = self._open()
            factory = channel.unary_stream if stream else channel.unary_unary
            stub = factory(
                f"/{SERVICE}/{method}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response,
            )
            self._stubs[method] = stub
        return stub

    async def _call(self, method: str, request: Message, response: Deserialize) -> Any:
        if self.multiplex and method in MUX_METHODS:
            raw = request.SerializeToString()
            if len(raw) <= MUX_MAX_REQUEST:
                mux = self._mux
                if mux is None or mux.failed:
                    mux = self._mux = _Mux(self._open(), self._metadata)
                try:
                    result = await mux.call(method, raw)
                except grpc.aio.AioRpcError as e:
                    raise status_error_from_rpc(e) from None
                if result.status:
                    raise StatusError.from_status(decode_trusted(result.status))
                return response(result.response)
        try:
            return await self._stub(method, response)(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as e:
            raise status_error_from_rpc(e) from None

    async def _object(self, method: str, request: Message) -> Obj:
        r = await self._call(method, request, api_pb2.ObjectResponse.FromString)
        return _decode(r.object)

    # The Client protocol

    async def create(
        self, resource: str, namespace: str, obj: Obj, *, dry_run: bool = False
    ) -> Obj:
        request = api_pb2.CreateRequest(
            resource=resource, namespace=namespace, object=encode(obj), dry_run=dry_run
        )
        return await self._object("Create", request)

    async def get(self, resource: str, namespace: str, name: str) -> Obj:
        request = api_pb2.GetRequest(resource=resource, namespace=namespace, name=name)
        return await self._object("Get", request)

    async def list(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> ObjList:
        items: builtins.list[Obj] = []
        last = await self._list_into(resource, namespace, options, items, decode=True)
        return ObjList(
            kind=last.kind,
            api_version=last.api_version,
            resource_version=last.resource_version,
            items=items,
            continue_=last.continue_,
            remaining_item_count=last.remaining_item_count,
        )

    async def list_raw(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> PackedList:
        """:meth:`list` with the items undecoded (:class:`PackedList`), for consumers that
        decode msgpack themselves or only some items."""
        chunks: builtins.list[Any] = []
        last = await self._list_into(resource, namespace, options, chunks, decode=False)
        last.chunks = chunks
        return last

    async def _list_into(
        self,
        resource: str,
        namespace: str,
        options: ListOptions | None,
        sink: builtins.list[Any],
        *,
        decode: bool,
    ) -> PackedList:
        """Receive a LIST: its chunks (or, with ``decode``, their objects as dicts, decoded
        as they arrive while the server reads on) appended to ``sink``; returns the last
        message (the list's metadata). ``ListChunked`` first; a server without it, or a
        stream that fails after a chunk (its revision compacted meanwhile), gets the
        one-message ``List`` instead, from scratch."""
        request = api_pb2.ListRequest(
            resource=resource, namespace=namespace, options=_list_options(options)
        )
        if self._chunked_list:
            last: PackedList | None = None
            call = self._stub("ListChunked", parse_list_response, stream=True)(
                request, metadata=self._metadata
            )
            try:
                async for part in call:
                    for chunk in part.chunks:
                        sink += unpack_items(chunk, promote=True) if decode else [chunk]
                    last = part
                if last is not None:
                    return last
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    self._chunked_list = False
                elif last is None:
                    raise status_error_from_rpc(e) from None
            sink.clear()
        packed: PackedList = await self._call("List", request, parse_list_response)
        for chunk in packed.chunks:
            sink += unpack_items(chunk) if decode else [chunk]
        return packed

    async def update(self, resource: str, namespace: str, obj: Obj) -> Obj:
        request = api_pb2.UpdateRequest(resource=resource, namespace=namespace, object=encode(obj))
        return await self._object("Update", request)

    async def update_status(self, resource: str, namespace: str, obj: Obj) -> Obj:
        request = api_pb2.UpdateRequest(resource=resource, namespace=namespace, object=encode(obj))
        return await self._object("UpdateStatus", request)

    async def patch(
        self,
        resource: str,
        namespace: str,
        name: str,
        patch: bytes | Obj | Sequence[Obj],
        patch_type: PatchType = PatchType.MERGE,
        *,
        subresource: str = "",
    ) -> Obj:
        body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
        request = api_pb2.PatchRequest(
            resource=resource,
            namespace=namespace,
            name=name,
            patch_type=str(patch_type),
            patch=body,
            subresource=subresource,
        )
        return await self._object("Patch", request)

    async def delete(
        self, resource: str, namespace: str, name: str, options: DeleteOptions | None = None
    ) -> Obj:
        request = api_pb2.DeleteRequest(
            resource=resource, namespace=namespace, name=name, options=_delete_options(options)
        )
        return await self._object("Delete", request)

    async def delete_collection(
        self,
        resource: str,
        namespace: str,
        options: ListOptions | None = None,
        delete_options: DeleteOptions | None = None,
    ) -> ObjList:
        request = api_pb2.DeleteCollectionRequest(
            resource=resource,
            namespace=namespace,
            options=_list_options(options),
            delete_options=_delete_options(delete_options),
        )
        packed: PackedList = await self._call("DeleteCollection", request, parse_list_response)
        return packed.decode()

    async def watch(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> GrpcWatchStream:
        """Returns once the server has established the watch; errors such as Gone (a
        compacted resourceVersion) raise here, as with the in-process client."""
        request = api_pb2.WatchRequest(
            resource=resource, namespace=namespace, options=_list_options(options)
        )
        call = self._stub("Watch", api_pb2.WatchBatch.FromString, stream=True)(
            request, metadata=self._metadata
        )
        try:
            initial = await call.initial_metadata()
            started = any(k == WATCH_STARTED for k, _ in initial or ())
            if not started:
                code = await call.code()
                if code != grpc.StatusCode.OK:
                    trailing = await call.trailing_metadata()
                    raise status_error_from_rpc(_Failed(code, await call.details(), trailing))
        except grpc.aio.AioRpcError as e:
            raise status_error_from_rpc(e) from None
        return GrpcWatchStream(call)

    async def bind(self, namespace: str, name: str, node_name: str, *, uid: str = "") -> None:
        request = api_pb2.BindRequest(namespace=namespace, name=name, node_name=node_name, uid=uid)
        await self._call("Bind", request, api_pb2.BindResponse.FromString)

    async def create_many(self, resource: str, namespace: str, objs: Sequence[Obj]) -> BatchResult:
        request = api_pb2.CreateManyRequest(
            resource=resource, namespace=namespace, objects=[encode(o) for o in objs]
        )
        return _batch(await self._call("CreateMany", request, api_pb2.BatchResponse.FromString))

    async def bind_many(self, bindings: Sequence[tuple[str, str, str]]) -> BatchResult:
        request = api_pb2.BindManyRequest(
            bindings=[
                api_pb2.Binding(namespace=ns, name=n, node_name=node) for ns, n, node in bindings
            ]
        )
        return _batch(await self._call("BindMany", request, api_pb2.BatchResponse.FromString))

    async def update_many(self, resource: str, objs: Sequence[Obj]) -> BatchResult:
        request = api_pb2.UpdateManyRequest(resource=resource, objects=[encode(o) for o in objs])
        return _batch(await self._call("UpdateMany", request, api_pb2.BatchResponse.FromString))

    async def close(self) -> None:
        if self._mux is not None:
            await self._mux.close()
            self._mux = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stubs.clear()

    async def __aenter__(self) -> GrpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Failed:
    """The parts of a finished call ``status_error_from_rpc`` reads."""

    def __init__(self, code: Any, details: str, trailing: Any) -> None:
        self._code, self._details, self._trailing = code, details, trailing

    def code(self) -> Any:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._trailing
