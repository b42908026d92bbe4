"""The gRPC adapter (proto/kubemu/v1) over the apiserver core. No API semantics live here.

Each RPC: parse the request (raw bytes in, so a malformed message is a ``BadRequest`` and not a
transport failure), authenticate the bearer token, call the ``APIServer`` method with the same
arguments as the ``Client`` protocol plus ``user`` (objects are passed as the msgpack bytes they
arrived as: the core decodes and checks them once, so malformed or too deeply nested documents
are its ``BadRequest``), and encode the result (stored bytes pass through). A
:class:`StatusError` becomes the gRPC status of its reason (``GRPC_CODE_BY_REASON``) with the
Status message as details and the whole Status (msgpack) in the ``kubemu-status-bin`` trailing
metadata; any other exception becomes ``InternalError``. Messages over
:data:`~kubemu.api.MAX_REQUEST_BYTES` (plus a margin for the envelope) are refused by gRPC
itself with ``RESOURCE_EXHAUSTED``. Nothing a client sends stops the server.

What this module needs from the core (``apiserver``): the async methods of docs/apiserver.md
(``create``, ``get``, ``list``, ``update``, ``update_status``, ``patch``, ``delete``,
``delete_collection``, ``watch``, ``bind`` (with a ``Binding`` object), ``create_many``,
``bind_many``, ``update_many``), each taking ``user=`` as a keyword, objects as ``dict |
bytes``; and, unless an ``authenticate`` callable is given, an ``authenticate(token: str | None)
-> user`` method (sync or async) raising ``Unauthorized``, or an ``authenticator`` attribute
with one (:class:`kubemu.apiserver.auth.Authenticator`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import struct
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import replace
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError, Message

from kubemu.api import SERVICE, STATUS_TRAILER, WATCH_STARTED, api_pb2
from kubemu.apiserver.codec import MAX_REQUEST_BYTES
from kubemu.apiserver.codec import encode as pack
from kubemu.apiserver.storage import StoredObject
from kubemu.client.interface import DeleteOptions, ListOptions, PatchType
from kubemu.objects.errors import StatusError

__all__ = [
    "ENVELOPE_MARGIN",
    "GrpcServer",
    "delete_options",
    "list_options",
    "pack_events",
    "pack_items",
    "raw_object",
]

log = logging.getLogger(__name__)

ENVELOPE_MARGIN = 64 * 1024
"""Bytes allowed on top of the object limit for the request's other fields."""

Authenticate = Callable[[str | None], Any]


def list_options(o: api_pb2.ListOptions) -> ListOptions:
    return ListOptions(
        label_selector=o.label_selector,
        field_selector=o.field_selector,
        limit=o.limit,
        continue_=getattr(o, "continue"),
        resource_version=o.resource_version,
        resource_version_match=o.resource_version_match,
        allow_watch_bookmarks=o.allow_watch_bookmarks,
        timeout_seconds=o.timeout_seconds if o.HasField("timeout_seconds") else None,
        node_names=frozenset(o.node_names) if o.has_node_names else None,
    )


def delete_options(o: api_pb2.DeleteOptions) -> DeleteOptions:
    return DeleteOptions(
        grace_period_seconds=(
            o.grace_period_seconds if o.HasField("grace_period_seconds") else None
        ),
        preconditions_uid=o.preconditions_uid if o.HasField("preconditions_uid") else None,
        preconditions_resource_version=(
            o.preconditions_resource_version
            if o.HasField("preconditions_resource_version")
            else None
        ),
        propagation_policy=o.propagation_policy if o.HasField("propagation_policy") else None,
        dry_run=o.dry_run,
    )


def _rv(obj: Mapping[str, Any]) -> int:
    rv = (obj.get("metadata") or {}).get("resourceVersion") or 0
    try:
        return int(rv)
    except (TypeError, ValueError):
        return 0


def raw_object(item: Any) -> api_pb2.RawObject:
    """An object for the wire: stored bytes pass through (anything with ``data`` and
    ``resource_version``, such as the core's RawObject); a decoded dict is encoded."""
    if isinstance(item, Mapping):
        return api_pb2.RawObject(data=pack(item), resource_version=_rv(item))
    return api_pb2.RawObject(data=bytes(item.data), resource_version=int(item.resource_version))


def _rv_header(rv: int) -> bytes:
    """A resourceVersion as msgpack (uint 64, fixed width: no branching per item)."""
    return b"\xcf" + rv.to_bytes(8, "big") if rv > 0 else b"\x00"


_UINT64 = struct.Struct(">BQ")


def _array_header(n: int) -> bytes:
    return b"\xdd" + n.to_bytes(4, "big")


def _item_parts(items: Iterable[Any]) -> list[bytes]:
    """The msgpack array header and ``[rv0, object0, ...]`` of ``items`` as parts to join."""
    if type(items) is list and all(type(i) is StoredObject for i in items):
        # Straight from the storage (revisions > 0): two comprehensions, no branch per item.
        u64 = _UINT64.pack
        parts: list[bytes] = [b""] * (2 * len(items) + 1)
        parts[0] = _array_header(2 * len(items))
        parts[1::2] = [u64(0xCF, s.revision) for s in items]
        parts[2::2] = [s.value for s in items]
        return parts
    parts = [b""]
    append = parts.append
    n = 0
    for item in items:
        if isinstance(item, StoredObject):
            append(_rv_header(item.revision))
            append(item.value)
            n += 1
            continue
        data = getattr(item, "data", None)
        if data is None:  # a decoded object
            append(_rv_header(_rv(item)))
            append(pack(item))
        else:
            rv = item.resource_version
            append(_UINT64.pack(0xCF, rv) if rv > 0 else b"\x00")
            append(data)
        n += 1
    parts[0] = _array_header(2 * n)
    return parts


def pack_items(items: Iterable[Any]) -> bytes:
    """The msgpack array ``[rv0, object0, rv1, object1, ...]`` of objects for the wire, by
    concatenation: stored bytes (anything with ``data`` and ``resource_version``) are embedded
    as they are; a decoded dict is encoded (its own resourceVersion, if any, as rv)."""
    return b"".join(_item_parts(items))


class _Serialized:
    """A response already serialized (``SerializeToString`` returns it)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:
        return self.data


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_ITEMS_TAG = bytes([(api_pb2.ListResponse.ITEMS_FIELD_NUMBER << 3) | 2])


def _list_response(result: Any) -> _Serialized:
    """The ``ListResponse`` of a core list, serialized in one pass: the small fields through
    protobuf, the packed items appended as their length-delimited field (so the items are
    copied once, not once to pack and once more to serialize)."""
    head = api_pb2.ListResponse(
        kind=result.kind,
        api_version=result.api_version,
        resource_version=str(result.resource_version),
    )
    setattr(head, "continue", result.continue_ or "")
    if result.remaining_item_count is not None:
        head.remaining_item_count = result.remaining_item_count
    parts = _item_parts(result.items)
    size = sum(map(len, parts))
    return _Serialized(b"".join([head.SerializeToString(), _ITEMS_TAG, _varint(size), *parts]))


_FIELD1_LEN = b"\x0a"  # field 1, length-delimited: ObjectResponse.object, RawObject.data
_FIELD2_VARINT = b"\x10"  # field 2, varint: RawObject.resource_version


def _object_response(obj: Any) -> api_pb2.ObjectResponse | _Serialized:
    """The ``ObjectResponse`` of a core result (a RawObject's stored bytes pass through; a
    dict is encoded), serialized by concatenation: the object's bytes are copied once."""
    if isinstance(obj, Mapping):
        data, rv = pack(obj), _rv(obj)
    else:
        data, rv = bytes(obj.data), int(obj.resource_version)
    if rv < 0:  # not a resourceVersion this server writes: protobuf's own encoding
        return api_pb2.ObjectResponse(object=api_pb2.RawObject(data=data, resource_version=rv))
    inner = [_FIELD1_LEN, _varint(len(data)), data]
    if rv:
        inner += [_FIELD2_VARINT, _varint(rv)]
    size = sum(map(len, inner))
    return _Serialized(b"".join([_FIELD1_LEN, _varint(size), *inner]))


def _batch_response(result: Any) -> api_pb2.BatchResponse:
    items = []
    for obj, err in zip(result.objects, result.errors, strict=True):
        if err is not None:
            items.append(api_pb2.BatchItem(status=pack(err.to_status())))
        elif obj is None:
            items.append(api_pb2.BatchItem())
        else:
            items.append(api_pb2.BatchItem(object=raw_object(obj)))
    return api_pb2.BatchResponse(items=items)


LIST_CHUNK = 10_000
"""``ListChunked`` sends the list in pages of this many items."""

WATCH_BATCH_EVENTS = 1_000
"""At most this many events in one ``WatchBatch``."""
WATCH_BATCH_BYTES = 4 * 1024 * 1024
"""A ``WatchBatch`` is closed once its objects reach this many bytes."""

_TYPE_HEADERS = {t: pack(t) for t in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")}


def _event_parts(event: Any) -> tuple[bytes, bytes, bytes]:
    """A core watch event (``RawWatchEvent``: ``object`` a RawObject, ERROR's ``status`` a
    dict) or a client-shaped ``WatchEvent`` (``object`` a dict) as the three msgpack values
    (type, rv, object) of a ``WatchBatch``."""
    etype = str(getattr(event.type, "value", event.type))
    header = _TYPE_HEADERS.get(etype) or pack(etype)
    if etype == "ERROR":
        status = getattr(event, "status", None) or event.object
        return header, b"\x00", pack(status)
    obj = event.object
    if isinstance(obj, Mapping):
        return header, _rv_header(_rv(obj)), pack(obj)
    return header, _rv_header(int(obj.resource_version)), obj.data


def pack_events(events: Sequence[Any]) -> bytes:
    """The ``WatchBatch.events`` of ``events``: msgpack ``[type0, rv0, object0, ...]``."""
    parts = [_array_header(3 * len(events))]
    for ev in events:
        parts.extend(_event_parts(ev))
    return b"".join(parts)


_EVENTS_TAG = bytes([(api_pb2.WatchBatch.EVENTS_FIELD_NUMBER << 3) | 2])


def _watch_batch(items: Sequence[tuple[str, int, bytes]]) -> bytes:
    """A serialized ``WatchBatch`` of a core stream's items (type, rv, msgpack bytes): the
    packed array built by concatenation and appended as the ``events`` field."""
    headers = _TYPE_HEADERS
    u64 = _UINT64.pack
    parts = [_array_header(3 * len(items))]
    append = parts.append
    for etype, rv, data in items:
        append(headers.get(etype) or pack(etype))
        append(u64(0xCF, rv) if rv > 0 else b"\x00")
        append(data)
    body = b"".join(parts)
    return b"".join((_EVENTS_TAG, _varint(len(body)), body))


_RESULTS_TAG = bytes([(api_pb2.CallResultBatch.RESULTS_FIELD_NUMBER << 3) | 2])
_ID_TAG = bytes([(api_pb2.CallResult.ID_FIELD_NUMBER << 3) | 0])
_RESPONSE_TAG = bytes([(api_pb2.CallResult.RESPONSE_FIELD_NUMBER << 3) | 2])
_STATUS_TAG = bytes([(api_pb2.CallResult.STATUS_FIELD_NUMBER << 3) | 2])


def _call_result(call_id: int, tag: bytes, payload: bytes) -> bytes:
    """One serialized ``CallResultBatch.results`` entry: a ``CallResult`` with ``id`` and
    the response (``_RESPONSE_TAG``) or the Status (``_STATUS_TAG``); an empty payload is
    left out, as protobuf does. Concatenated entries are a serialized ``CallResultBatch``."""
    body = [_ID_TAG, _varint(call_id)] if call_id else []
    if payload:
        body += [tag, _varint(len(payload)), payload]
    size = sum(map(len, body))
    return b"".join([_RESULTS_TAG, _varint(size), *body])


class _Yield:
    """Awaiting it yields ``value`` to the task running the awaiting coroutine (what the
    awaited coroutine yielded: a future to wait for, or None) and returns what is sent back."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self.value)


async def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Continue ``coro`` (suspended, having yielded ``yielded``) inside the running task:
    every yield passes through to the task, and what the task sends or throws (a
    cancellation) goes back in."""
    while True:
        try:
            sent = await _Yield(yielded)
        except BaseException as e:  # thrown into the task (a cancellation): into coro
            try:
                yielded = coro.throw(e)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = coro.send(sent)
        except StopIteration as stop:
            return stop.value


def run_eager(coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
    """Start ``coro`` now, in the caller (as Python 3.12's eager tasks do): None if it ran
    to the end without suspending (its result and any exception are dropped: pass a
    coroutine that records them itself), else the task that carries it on."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_resume(coro, yielded))


def _token(context: Any) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


class GrpcServer:
    """``kubemu.v1.API`` served on ``address`` (``host:port``, port 0 picks a free one, or
    ``unix:/path``) with grpc.aio. ``await start()``, then :attr:`port` is the bound port;
    ``await stop()`` ends it."""

    def __init__(
        self,
        apiserver: Any,
        address: str = "127.0.0.1:7443",
        *,
        authenticate: Authenticate | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self.apiserver = apiserver
        self.address = address
        self.port = 0
        self.max_receive_bytes = max_request_bytes + ENVELOPE_MARGIN
        if authenticate is None:
            authenticate = getattr(apiserver, "authenticate", None)
        if authenticate is None and getattr(apiserver, "authenticator", None) is not None:
            authenticate = apiserver.authenticator.authenticate
        self._authenticate: Authenticate | None = authenticate
        self._server: Any = None

    # Lifecycle

    async def start(self) -> None:
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", self.max_receive_bytes),
                ("grpc.max_send_message_length", -1),
                ("grpc.so_reuseport", 0),
            ]
        )
        server.add_generic_rpc_handlers((self._handler(),))
        try:
            self.port = server.add_insecure_port(self.address)
        except RuntimeError:  # grpcio ≥ 1.60 raises where older versions returned 0
            self.port = 0
        if not self.address.startswith("unix:") and self.port == 0:
            await server.stop(None)
            raise OSError(f"cannot listen on {self.address}")
        await server.start()
        self._server = server

    async def stop(self, grace: float | None = 1.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()

    @property
    def target(self) -> str:
        """The address clients dial (the bound port substituted)."""
        if self.address.startswith("unix:"):
            return self.address
        host = self.address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    # Plumbing

    def _handler(self) -> Any:
        unary: dict[
            str, tuple[type[Message], Callable[[Any, Any], Awaitable[Message | _Serialized]]]
        ] = {
            "Create": (api_pb2.CreateRequest, self._create),
            "Get": (api_pb2.GetRequest, self._get),
            "List": (api_pb2.ListRequest, self._list),
            "Update": (api_pb2.UpdateRequest, self._update),
            "UpdateStatus": (api_pb2.UpdateRequest, self._update_status),
            "Patch": (api_pb2.PatchRequest, self._patch),
            "Delete": (api_pb2.DeleteRequest, self._delete),
            "DeleteCollection": (api_pb2.DeleteCollectionRequest, self._delete_collection),
            "Bind": (api_pb2.BindRequest, self._bind),
            "CreateMany": (api_pb2.CreateManyRequest, self._create_many),
            "BindMany": (api_pb2.BindManyRequest, self._bind_many),
            "UpdateMany": (api_pb2.UpdateManyRequest, self._update_many),
        }
        self._methods = unary
        handlers = {
            name: grpc.unary_unary_rpc_method_handler(self._unary(cls, fn))
            for name, (cls, fn) in unary.items()
        }
        handlers["Watch"] = grpc.unary_stream_rpc_method_handler(self._watch)
        handlers["ListChunked"] = grpc.unary_stream_rpc_method_handler(self._list_chunked)
        handlers["Call"] = grpc.stream_stream_rpc_method_handler(self._call_stream)
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    async def _user(self, context: Any) -> Any:
        if self._authenticate is None:
            return None
        user = self._authenticate(_token(context))
        if inspect.isawaitable(user):
            user = await user
        return user

    @staticmethod
    def _as_status_error(e: BaseException) -> StatusError:
        if isinstance(e, StatusError):
            return e
        if isinstance(e, DecodeError):
            return StatusError.bad_request(f"malformed request: {e}")
        log.exception("internal error serving a request", exc_info=e)
        return StatusError.internal_error(e)

    @staticmethod
    async def _abort(context: Any, err: StatusError) -> None:
        code = getattr(grpc.StatusCode, err.grpc_code, grpc.StatusCode.UNKNOWN)
        await context.abort(
            code, err.message, trailing_metadata=((STATUS_TRAILER, pack(err.to_status())),)
        )

    def _unary(
        self, cls: type[Message], fn: Callable[[Any, Any], Awaitable[Message | _Serialized]]
    ) -> Callable[[bytes, Any], Awaitable[bytes]]:
        async def handle(raw: bytes, context: Any) -> bytes:
            try:
                request = cls.FromString(raw)
                user = await self._user(context)
                response = await fn(request, user)
                return response.SerializeToString()
            except Exception as e:  # the server never dies on a request
                err = self._as_status_error(e)
            await self._abort(context, err)
            raise AssertionError("unreachable: abort raises")

        return handle

    # Multiplexed calls

    async def _call_one(self, call: api_pb2.CallRequest, user: Any, out: list[bytes]) -> None:
        """Run one call of a ``Call`` stream; append its serialized ``CallResult`` (as a
        ``CallResultBatch.results`` entry) to ``out``."""
        try:
            entry = self._methods.get(call.method)
            if entry is None:
                raise StatusError.bad_request(f"unknown method {call.method!r}")
            cls, fn = entry
            response = await fn(cls.FromString(call.request), user)
            out.append(_call_result(call.id, _RESPONSE_TAG, response.SerializeToString()))
        except Exception as e:  # the server never dies on a request
            status = pack(self._as_status_error(e).to_status())
            out.append(_call_result(call.id, _STATUS_TAG, status))

    async def _call_stream(
        self, requests: AsyncIterator[bytes], context: Any
    ) -> AsyncIterator[bytes]:
        """``Call``: each request runs as a unary call would, started at once in the reader
        (:func:`run_eager`: the core's verbs finish without suspending, so no task per call;
        one that suspends continues as its own task); results are sent in batches of
        whatever has completed."""
        out: list[bytes] = []
        wake = asyncio.Event()
        tasks: set[asyncio.Future[Any]] = set()
        reading = True
        user: Any = None
        user_error: StatusError | None = None
        try:
            user = await self._user(context)
        except Exception as e:
            user_error = self._as_status_error(e)

        def done(t: asyncio.Future[Any]) -> None:
            tasks.discard(t)
            wake.set()

        async def read() -> None:
            nonlocal reading
            try:
                async for raw in requests:
                    try:
                        batch = api_pb2.CallBatch.FromString(raw)
                    except DecodeError as e:
                        err = pack(self._as_status_error(e).to_status())
                        out.append(_call_result(0, _STATUS_TAG, err))
                        wake.set()
                        continue
                    for call in batch.calls:
                        if user_error is not None:
                            err = pack(user_error.to_status())
                            out.append(_call_result(call.id, _STATUS_TAG, err))
                            continue
                        pending = run_eager(self._call_one(call, user, out))
                        if pending is not None:
                            tasks.add(pending)
                            pending.add_done_callback(done)
                    wake.set()
            finally:
                reading = False
                wake.set()

        reader = asyncio.ensure_future(read())
        try:
            while True:
                if out:
                    data = b"".join(out)
                    out.clear()
                    yield data
                    continue
                if not reading and not tasks:
                    return
                wake.clear()
                await wake.wait()
        finally:
            reader.cancel()
            for t in list(tasks):
                t.cancel()

    # Verbs

    async def _create(self, r: api_pb2.CreateRequest, user: Any) -> Message | _Serialized:
        create = getattr(self.apiserver, "create_raw", None) or self.apiserver.create
        obj = await create(r.resource, r.namespace, r.object, dry_run=r.dry_run, user=user)
        return _object_response(obj)

    async def _get(self, r: api_pb2.GetRequest, user: Any) -> Message | _Serialized:
        get = getattr(self.apiserver, "get_raw", None) or self.apiserver.get
        return _object_response(await get(r.resource, r.namespace, r.name, user=user))

    async def _list(self, r: api_pb2.ListRequest, user: Any) -> Message | _Serialized:
        list_ = getattr(self.apiserver, "list_stored", None) or self.apiserver.list
        result = await list_(r.resource, r.namespace, list_options(r.options), user=user)
        return _list_response(result)

    async def _list_chunked(self, raw: bytes, context: Any) -> AsyncIterator[bytes]:
        """``ListChunked``: the LIST in pages of :data:`LIST_CHUNK` read at one revision (the
        first page's), each sent as soon as it is read. Requests that page themselves
        (limit/continue) or ask for "not older than N" (whose answer is the newest state, not
        the state at N) get the one-message answer of ``List``, as does a core without
        ``list_stored`` (only the apiserver core's paging is relied on)."""
        try:
            r = api_pb2.ListRequest.FromString(raw)
            user = await self._user(context)
            list_ = getattr(self.apiserver, "list_stored", None)
            opts = list_options(r.options)
            args = (r.resource, r.namespace)
            pinned = opts.resource_version not in ("", "0")
            if (
                list_ is None
                or opts.limit
                or opts.continue_
                or (pinned and opts.resource_version_match != "Exact")
            ):
                result = await (list_ or self.apiserver.list)(*args, opts, user=user)
                yield _list_response(result).data
                return
            page = await list_(*args, replace(opts, limit=LIST_CHUNK), user=user)
            while True:
                token = page.continue_
                if token:  # more to come: this message is a middle chunk
                    page.continue_, page.remaining_item_count = "", None
                yield _list_response(page).data
                if not token:
                    return
                chunk = replace(
                    opts,
                    limit=LIST_CHUNK,
                    continue_=token,
                    resource_version="",
                    resource_version_match="",
                )
                page = await list_(*args, chunk, user=user)
        except Exception as e:
            await self._abort(context, self._as_status_error(e))

    async def _update(self, r: api_pb2.UpdateRequest, user: Any) -> Message | _Serialized:
        update = getattr(self.apiserver, "update_raw", None) or self.apiserver.update
        return _object_response(await update(r.resource, r.namespace, r.object, user=user))

    async def _update_status(self, r: api_pb2.UpdateRequest, user: Any) -> Message | _Serialized:
        update = getattr(self.apiserver, "update_status_raw", None) or self.apiserver.update_status
        return _object_response(await update(r.resource, r.namespace, r.object, user=user))

    async def _patch(self, r: api_pb2.PatchRequest, user: Any) -> Message | _Serialized:
        # The patch type and body are checked by the core, as for the in-process client.
        obj = await self.apiserver.patch(
            r.resource,
            r.namespace,
            r.name,
            r.patch,
            r.patch_type or str(PatchType.MERGE),
            subresource=r.subresource,
            user=user,
        )
        return _object_response(obj)

    async def _delete(self, r: api_pb2.DeleteRequest, user: Any) -> Message | _Serialized:
        obj = await self.apiserver.delete(
            r.resource, r.namespace, r.name, delete_options(r.options), user=user
        )
        return _object_response(obj)

    async def _delete_collection(
        self, r: api_pb2.DeleteCollectionRequest, user: Any
    ) -> Message | _Serialized:
        result = await self.apiserver.delete_collection(
            r.resource,
            r.namespace,
            list_options(r.options),
            delete_options(r.delete_options),
            user=user,
        )
        if isinstance(result, list):
            # The core returns what each delete left, as a plain list of objects.
            kind = self.apiserver.kind(r.resource)
            revision = getattr(getattr(self.apiserver, "storage", None), "revision", 0)
            return api_pb2.ListResponse(
                kind=kind.list_kind,
                api_version=kind.api_version,
                resource_version=str(revision),
                items=pack_items(result),
            )
        return _list_response(result)

    async def _bind(self, r: api_pb2.BindRequest, user: Any) -> Message:
        binding: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": r.name, "namespace": r.namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": r.node_name},
        }
        if r.uid:
            binding["metadata"]["uid"] = r.uid
        await self.apiserver.bind(r.namespace, r.name, binding, user=user)
        return api_pb2.BindResponse()

    async def _create_many(self, r: api_pb2.CreateManyRequest, user: Any) -> Message:
        objs = list(r.objects)
        result = await self.apiserver.create_many(r.resource, r.namespace, objs, user=user)
        return _batch_response(result)

    async def _bind_many(self, r: api_pb2.BindManyRequest, user: Any) -> Message:
        bindings = [(b.namespace, b.name, b.node_name) for b in r.bindings]
        result = await self.apiserver.bind_many(bindings, user=user)
        return _batch_response(result)

    async def _update_many(self, r: api_pb2.UpdateManyRequest, user: Any) -> Message:
        objs = list(r.objects)
        result = await self.apiserver.update_many(r.resource, objs, user=user)
        return _batch_response(result)

    async def _watch(self, raw: bytes, context: Any) -> AsyncIterator[bytes]:
        try:
            r = api_pb2.WatchRequest.FromString(raw)
            user = await self._user(context)
            stream = await self.apiserver.watch(
                r.resource, r.namespace, list_options(r.options), user=user
            )
        except Exception as e:
            err = self._as_status_error(e)
            await self._abort(context, err)
            return
        try:
            await context.send_initial_metadata(((WATCH_STARTED, "started"),))
            error = _TYPE_HEADERS["ERROR"]
            next_batch = getattr(stream, "next_batch", None)
            try:
                if next_batch is not None:  # the core's ServerWatch: what is queued, at once
                    while True:
                        items = await next_batch(WATCH_BATCH_EVENTS, WATCH_BATCH_BYTES)
                        if not items:
                            break
                        yield _watch_batch(items)
                else:
                    async for event in stream:
                        parts = [_array_header(3), *_event_parts(event)]
                        yield api_pb2.WatchBatch(events=b"".join(parts)).SerializeToString()
            except Exception as e:  # a failing stream ends with an ERROR event
                status = pack(self._as_status_error(e).to_status())
                events_bytes = b"".join((_array_header(3), error, b"\x00", status))
                yield api_pb2.WatchBatch(events=events_bytes).SerializeToString()
        finally:
            await stream.close()
