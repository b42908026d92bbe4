"""The gRPC server's messages: request options as the core's (:func:`list_options`,
:func:`delete_options`) and the core's results as responses, serialized by hand where that
saves a copy of stored bytes (:func:`list_response`, :func:`object_response`,
:func:`watch_batch`, :func:`call_result`; each parses as protobuf's own serialization would
give). The packed arrays inside them are :mod:`kubemu.apiserver.grpc_wire`'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubemu.api import api_pb2
from kubemu.apiserver.codec import encode as pack
from kubemu.apiserver.grpc_wire import (
    LEN,
    TYPE_HEADERS,
    UINT64,
    VARINT,
    array_header,
    field_tag,
    item_parts,
    rv_of,
    varint,
)
from kubemu.client.interface import DeleteOptions, ListOptions

__all__ = [
    "RESPONSE_TAG",
    "STATUS_TAG",
    "Serialized",
    "batch_response",
    "call_result",
    "delete_options",
    "list_options",
    "list_response",
    "object_response",
    "raw_object",
    "watch_batch",
]


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


def raw_object(item: Any) -> api_pb2.RawObject:
    """An object for the wire: stored bytes pass through (anything with ``data`` and
    ``resource_version``, such as the core's RawObject); a decoded dict is encoded."""
    if isinstance(item, Mapping):
        return api_pb2.RawObject(data=pack(item), resource_version=rv_of(item))
    return api_pb2.RawObject(data=bytes(item.data), resource_version=int(item.resource_version))


class Serialized:
    """A response already serialized (``SerializeToString`` returns it)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:
        return self.data


_ITEMS_TAG = field_tag(api_pb2.ListResponse.ITEMS_FIELD_NUMBER, LEN)


def list_response(result: Any) -> Serialized:
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
    parts = item_parts(result.items)
    size = sum(map(len, parts))
    return Serialized(b"".join([head.SerializeToString(), _ITEMS_TAG, varint(size), *parts]))


_FIELD1_LEN = field_tag(1, LEN)  # ObjectResponse.object, RawObject.data
_FIELD2_VARINT = field_tag(2, VARINT)  # RawObject.resource_version


def object_response(obj: Any) -> api_pb2.ObjectResponse | Serialized:
    """The ``ObjectResponse`` of a core result (a RawObject's stored bytes pass through; a
    dict is encoded), serialized by concatenation: the object's bytes are copied once."""
    if isinstance(obj, Mapping):
        data, rv = pack(obj), rv_of(obj)
    else:
        data, rv = bytes(obj.data), int(obj.resource_version)
    if rv < 0:  # not a resourceVersion this server writes: protobuf's own encoding
        return api_pb2.ObjectResponse(object=api_pb2.RawObject(data=data, resource_version=rv))
    inner = [_FIELD1_LEN, varint(len(data)), data]
    if rv:
        inner += [_FIELD2_VARINT, varint(rv)]
    size = sum(map(len, inner))
    return Serialized(b"".join([_FIELD1_LEN, varint(size), *inner]))


def batch_response(result: Any) -> api_pb2.BatchResponse:
    """The ``BatchResponse`` of a core ``BatchResult``: per item the object or the Status."""
    items = []
    for obj, err in zip(result.objects, result.errors, strict=True):
        if err is not None:
            items.append(api_pb2.BatchItem(status=pack(err.to_status())))
        elif obj is None:
            items.append(api_pb2.BatchItem())
        else:
            items.append(api_pb2.BatchItem(object=raw_object(obj)))
    return api_pb2.BatchResponse(items=items)


_EVENTS_TAG = field_tag(api_pb2.WatchBatch.EVENTS_FIELD_NUMBER, LEN)


def watch_batch(items: Sequence[tuple[str, int, bytes]]) -> bytes:
    """A serialized ``WatchBatch`` of a core stream's items (type, rv, msgpack bytes): the
    packed array built by concatenation and appended as the ``events`` field."""
    headers = TYPE_HEADERS
    u64 = UINT64.pack
    parts = [array_header(3 * len(items))]
    append = parts.append
    for etype, rv, data in items:
        append(headers.get(etype) or pack(etype))
        append(u64(0xCF, rv) if rv > 0 else b"\x00")
        append(data)
    body = b"".join(parts)
    return b"".join((_EVENTS_TAG, varint(len(body)), body))


_RESULTS_TAG = field_tag(api_pb2.CallResultBatch.RESULTS_FIELD_NUMBER, LEN)
_ID_TAG = field_tag(api_pb2.CallResult.ID_FIELD_NUMBER, VARINT)
RESPONSE_TAG = field_tag(api_pb2.CallResult.RESPONSE_FIELD_NUMBER, LEN)
"""``CallResult.response``: the serialized response of a call that succeeded."""
STATUS_TAG = field_tag(api_pb2.CallResult.STATUS_FIELD_NUMBER, LEN)
"""``CallResult.status``: the Status (msgpack) of a call that failed."""


def call_result(call_id: int, tag: bytes, payload: bytes) -> bytes:
    """One serialized ``CallResultBatch.results`` entry: a ``CallResult`` with ``id`` and
    the response (:data:`RESPONSE_TAG`) or the Status (:data:`STATUS_TAG`); an empty payload
    is left out, as protobuf does. Concatenated entries are a serialized ``CallResultBatch``."""
    body = [_ID_TAG, varint(call_id)] if call_id else []
    if payload:
        body += [tag, varint(len(payload)), payload]
    size = sum(map(len, body))
    return b"".join([_RESULTS_TAG, varint(size), *body])
