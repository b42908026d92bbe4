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
``bind_many``, ``update_many``, ``renew_leases``), each taking ``user=`` as a keyword, objects
as ``dict | bytes``; and, unless an ``authenticate`` callable is given, an
``authenticate(token: str | None) -> user`` method (sync or async) raising ``Unauthorized``,
or an ``authenticator`` attribute with one (:class:`kubemu.apiserver.auth.Authenticator`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError, Message

from kubemu.api import SERVICE, STATUS_TRAILER, WATCH_STARTED, api_pb2
from kubemu.apiserver.codec import MAX_REQUEST_BYTES
from kubemu.apiserver.codec import encode as pack
from kubemu.apiserver.eager import run_eager
from kubemu.apiserver.grpc_messages import (
    RESPONSE_TAG,
    STATUS_TAG,
    Serialized,
    batch_response,
    call_result,
    delete_options,
    list_options,
    list_response,
    object_response,
    raw_object,
    watch_batch,
)
from kubemu.apiserver.grpc_wire import (
    LEN,
    TYPE_HEADERS,
    VARINT,
    array_header,
    event_parts,
    field_tag,
    pack_events,
    pack_items,
    rv_of,
    varint,
)
from kubemu.client.interface import BatchResult, PatchType, binding_object
from kubemu.objects.errors import StatusError

__all__ = [
    "ENVELOPE_MARGIN",
    "GrpcServer",
    "create_many_response",
    "delete_options",
    "list_options",
    "pack_events",
    "pack_items",
    "raw_object",
    "run_eager",
]

log = logging.getLogger(__name__)

ENVELOPE_MARGIN = 64 * 1024
"""Bytes allowed on top of the object limit for the request's other fields."""

Authenticate = Callable[[str | None], Any]


LIST_CHUNK = 10_000
"""``ListChunked`` sends the list in pages of this many items."""

WATCH_BATCH_EVENTS = 1_000
"""At most this many events in one ``WatchBatch``."""
WATCH_BATCH_BYTES = 4 * 1024 * 1024
"""A ``WatchBatch`` is closed once its objects reach this many bytes."""


def _token(context: Any) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


_ITEM = field_tag(api_pb2.BatchResponse.ITEMS_FIELD_NUMBER, LEN)
_ITEM_OBJECT = field_tag(api_pb2.BatchItem.OBJECT_FIELD_NUMBER, LEN)
_ITEM_STATUS = field_tag(api_pb2.BatchItem.STATUS_FIELD_NUMBER, LEN)
_RAW_DATA = field_tag(api_pb2.RawObject.DATA_FIELD_NUMBER, LEN)
_RAW_RV = field_tag(api_pb2.RawObject.RESOURCE_VERSION_FIELD_NUMBER, VARINT)


_SMALL_VARINTS = tuple(bytes((n,)) for n in range(0x80))


def _varint(n: int) -> bytes:
    """:func:`~kubemu.apiserver.grpc_wire.varint` with the short forms written directly (the
    sizes and revisions of a batch response: four per object)."""
    if n < 0x80:
        return _SMALL_VARINTS[n]
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if n < 0x200000:
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
    return varint(n)


def create_many_response(result: BatchResult) -> Serialized:
    """The ``BatchResponse`` of a core ``create_many``, serialized by concatenation: created
    objects go out as their stored bytes (:meth:`BatchResult.stored`, never decoded here, their
    resourceVersion in the ``RawObject``'s field as for GET and LIST); the others as
    :func:`batch_response` sends them."""
    parts: list[bytes] = []
    extend = parts.extend
    stored, decoded = result.stored, result.decoded
    for i, err in enumerate(result.errors):
        if err is not None:
            status = pack(err.to_status())
            n = len(status)
            extend((_ITEM, _varint(1 + len(_varint(n)) + n), _ITEM_STATUS, _varint(n), status))
            continue
        held = stored(i)
        if held is None and (obj := decoded(i)) is not None:
            held = (pack(obj), rv_of(obj))
        if held is None:
            extend((_ITEM, b"\x00"))
            continue
        data, rv = held
        if rv < 0 or not data:  # not what this server stores: protobuf's own encoding
            raw = api_pb2.RawObject(data=data, resource_version=rv).SerializeToString()
            extend((_ITEM, _varint(1 + len(_varint(len(raw))) + len(raw)), _ITEM_OBJECT))
            extend((_varint(len(raw)), raw))
            continue
        n = len(data)
        size_n, rv_v = _varint(n), (_RAW_RV + _varint(rv) if rv else b"")
        raw_len = 1 + len(size_n) + n + len(rv_v)
        raw_len_v = _varint(raw_len)
        extend((_ITEM, _varint(1 + len(raw_len_v) + raw_len), _ITEM_OBJECT, raw_len_v))
        extend((_RAW_DATA, size_n, data, rv_v))
    return Serialized(b"".join(parts))


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
            str, tuple[type[Message], Callable[[Any, Any], Awaitable[Message | Serialized]]]
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
            "RenewLeases": (api_pb2.RenewLeasesRequest, self._renew_leases),
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
        self, cls: type[Message], fn: Callable[[Any, Any], Awaitable[Message | Serialized]]
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
            out.append(call_result(call.id, RESPONSE_TAG, response.SerializeToString()))
        except Exception as e:  # the server never dies on a request
            status = pack(self._as_status_error(e).to_status())
            out.append(call_result(call.id, STATUS_TAG, status))

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
                        out.append(call_result(0, STATUS_TAG, err))
                        wake.set()
                        continue
                    for call in batch.calls:
                        if user_error is not None:
                            err = pack(user_error.to_status())
                            out.append(call_result(call.id, STATUS_TAG, err))
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

    async def _create(self, r: api_pb2.CreateRequest, user: Any) -> Message | Serialized:
        create = getattr(self.apiserver, "create_raw", None) or self.apiserver.create
        obj = await create(r.resource, r.namespace, r.object, dry_run=r.dry_run, user=user)
        return object_response(obj)

    async def _get(self, r: api_pb2.GetRequest, user: Any) -> Message | Serialized:
        get = getattr(self.apiserver, "get_raw", None) or self.apiserver.get
        return object_response(await get(r.resource, r.namespace, r.name, user=user))

    async def _list(self, r: api_pb2.ListRequest, user: Any) -> Message | Serialized:
        list_ = getattr(self.apiserver, "list_stored", None) or self.apiserver.list
        result = await list_(r.resource, r.namespace, list_options(r.options), user=user)
        return list_response(result)

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
                yield list_response(result).data
                return
            page = await list_(*args, replace(opts, limit=LIST_CHUNK), user=user)
            while True:
                token = page.continue_
                if token:  # more to come: this message is a middle chunk
                    page.continue_, page.remaining_item_count = "", None
                yield list_response(page).data
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

    async def _update(self, r: api_pb2.UpdateRequest, user: Any) -> Message | Serialized:
        update = getattr(self.apiserver, "update_raw", None) or self.apiserver.update
        return object_response(await update(r.resource, r.namespace, r.object, user=user))

    async def _update_status(self, r: api_pb2.UpdateRequest, user: Any) -> Message | Serialized:
        update = getattr(self.apiserver, "update_status_raw", None) or self.apiserver.update_status
        return object_response(await update(r.resource, r.namespace, r.object, user=user))

    async def _patch(self, r: api_pb2.PatchRequest, user: Any) -> Message | Serialized:
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
        return object_response(obj)

    async def _delete(self, r: api_pb2.DeleteRequest, user: Any) -> Message | Serialized:
        obj = await self.apiserver.delete(
            r.resource, r.namespace, r.name, delete_options(r.options), user=user
        )
        return object_response(obj)

    async def _delete_collection(
        self, r: api_pb2.DeleteCollectionRequest, user: Any
    ) -> Message | Serialized:
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
        return list_response(result)

    async def _bind(self, r: api_pb2.BindRequest, user: Any) -> Message:
        binding = binding_object(r.namespace, r.name, r.node_name, r.uid)
        await self.apiserver.bind(r.namespace, r.name, binding, user=user)
        return api_pb2.BindResponse()

    async def _create_many(self, r: api_pb2.CreateManyRequest, user: Any) -> Message | Serialized:
        objs = list(r.objects)
        result = await self.apiserver.create_many(r.resource, r.namespace, objs, user=user)
        if not isinstance(result, BatchResult):
            return batch_response(result)
        return create_many_response(result)

    async def _bind_many(self, r: api_pb2.BindManyRequest, user: Any) -> Message:
        bindings = [(b.namespace, b.name, b.node_name) for b in r.bindings]
        result = await self.apiserver.bind_many(bindings, user=user)
        return batch_response(result)

    async def _update_many(self, r: api_pb2.UpdateManyRequest, user: Any) -> Message:
        objs = list(r.objects)
        result = await self.apiserver.update_many(r.resource, objs, user=user)
        return batch_response(result)

    async def _renew_leases(self, r: api_pb2.RenewLeasesRequest, user: Any) -> Message:
        leases = [(ref.namespace, ref.name) for ref in r.leases]
        result = await self.apiserver.renew_leases(leases, r.renew_time or None, user=user)
        return batch_response(result)

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
            error = TYPE_HEADERS["ERROR"]
            next_batch = getattr(stream, "next_batch", None)
            try:
                if next_batch is not None:  # the core's ServerWatch: what is queued, at once
                    while True:
                        items = await next_batch(WATCH_BATCH_EVENTS, WATCH_BATCH_BYTES)
                        if not items:
                            break
                        yield watch_batch(items)
                else:
                    async for event in stream:
                        parts = [array_header(3), *event_parts(event)]
                        yield api_pb2.WatchBatch(events=b"".join(parts)).SerializeToString()
            except Exception as e:  # a failing stream ends with an ERROR event
                status = pack(self._as_status_error(e).to_status())
                events_bytes = b"".join((array_header(3), error, b"\x00", status))
                yield api_pb2.WatchBatch(events=events_bytes).SerializeToString()
        finally:
            await stream.close()
