"""The hand-built framing both sides of the gRPC API (proto/kubemu/v1) share: the packed msgpack
arrays in ``ListResponse.items`` (``[rv0, object0, rv1, object1, ...]``) and
``WatchBatch.events`` (``[type0, rv0, object0, ...]``), written by the server by concatenating
stored bytes and read by the client in one msgpack call, and protobuf's varints and field tags
for the messages serialized or parsed by hand.

Writing (server): :func:`pack_items`, :func:`item_parts`, :func:`pack_events`,
:func:`event_parts`, :func:`varint`, :func:`array_header`, :func:`rv_header`. Reading (client):
:func:`unpack_items`, :func:`unpack_events`, :func:`split_events`, :func:`split_items`,
:func:`array_len`, :func:`varint_at`. An object's resourceVersion travels next to it (0: the
object carries its own, or none); objects are msgpack as stored, without
``metadata.resourceVersion``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgpack  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError

from kubemu.apiserver.codec import decode_all, decode_trusted
from kubemu.apiserver.codec import encode as pack
from kubemu.apiserver.storage import StoredObject
from kubemu.client.interface import EventType, Obj, RawWatchItem, WatchEvent
from kubemu.gcpause import gc_paused
from kubemu.objects.meta import set_resource_version

__all__ = [
    "TYPE_HEADERS",
    "UINT64",
    "array_header",
    "array_len",
    "event_parts",
    "field_tag",
    "item_parts",
    "pack_events",
    "pack_items",
    "reader",
    "rv_header",
    "rv_of",
    "split_events",
    "split_items",
    "unpack_array",
    "unpack_events",
    "unpack_items",
    "varint",
    "varint_at",
]

# ------------------------------------------------------------------------- protobuf framing

LEN = 2
"""Protobuf wire type of a length-delimited field."""
VARINT = 0
"""Protobuf wire type of a varint field."""


def field_tag(field: int, wire: int) -> bytes:
    """The one-byte tag of field ``field`` (1..15) with wire type ``wire``."""
    return bytes([(field << 3) | wire])


def varint(n: int) -> bytes:
    """``n`` (>= 0) as a protobuf varint."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varint_at(buf: memoryview, i: int) -> tuple[int, int]:
    """The varint at ``buf[i]`` and the index after it; DecodeError past 64 bits, IndexError
    if ``buf`` ends inside it."""
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


# -------------------------------------------------------------------- msgpack packed arrays

UINT64 = struct.Struct(">BQ")
"""msgpack uint 64 (``UINT64.pack(0xCF, n)``): resourceVersions at a fixed width."""


def array_header(n: int) -> bytes:
    """The msgpack header of an array of ``n`` elements (array 32: one width for all)."""
    return b"\xdd" + n.to_bytes(4, "big")


def array_len(data: bytes | memoryview) -> tuple[int, int]:
    """(element count, header size) of the msgpack array at the start of ``data``."""
    unpacker = msgpack.Unpacker(max_buffer_size=16)
    unpacker.feed(bytes(data[:5]))
    n: int = unpacker.read_array_header()
    return n, unpacker.tell()


def rv_header(rv: int) -> bytes:
    """A resourceVersion as msgpack (uint 64, fixed width: no branching per item; 0 if none)."""
    return b"\xcf" + rv.to_bytes(8, "big") if rv > 0 else b"\x00"


def rv_of(obj: Mapping[str, Any]) -> int:
    """A decoded object's ``metadata.resourceVersion`` as an int (0 if absent or not one)."""
    rv = (obj.get("metadata") or {}).get("resourceVersion") or 0
    try:
        return int(rv)
    except (TypeError, ValueError):
        return 0


def item_parts(items: Iterable[Any]) -> list[bytes]:
    """The msgpack array header and ``[rv0, object0, ...]`` of ``items`` as parts to join."""
    if type(items) is list and all(type(i) is StoredObject for i in items):
        # Straight from the storage (revisions > 0): two comprehensions, no branch per item.
        u64 = UINT64.pack
        parts: list[bytes] = [b""] * (2 * len(items) + 1)
        parts[0] = array_header(2 * len(items))
        parts[1::2] = [u64(0xCF, s.revision) for s in items]
        parts[2::2] = [s.value for s in items]
        return parts
    parts = [b""]
    append = parts.append
    n = 0
    for item in items:
        if isinstance(item, StoredObject):
            append(rv_header(item.revision))
            append(item.value)
            n += 1
            continue
        data = getattr(item, "data", None)
        if data is None:  # a decoded object
            append(rv_header(rv_of(item)))
            append(pack(item))
        else:
            append(rv_header(item.resource_version))
            append(data)
        n += 1
    parts[0] = array_header(2 * n)
    return parts


def pack_items(items: Iterable[Any]) -> bytes:
    """The msgpack array ``[rv0, object0, rv1, object1, ...]`` of objects for the wire, by
    concatenation: stored bytes (anything with ``data`` and ``resource_version``) are embedded
    as they are; a decoded dict is encoded (its own resourceVersion, if any, as rv)."""
    return b"".join(item_parts(items))


TYPE_HEADERS = {t: pack(t) for t in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")}
"""The msgpack of each watch event type."""


def event_parts(event: Any) -> tuple[bytes, bytes, bytes]:
    """A core watch event (``RawWatchEvent``: ``object`` a RawObject, ERROR's ``status`` a
    dict) or a client-shaped ``WatchEvent`` (``object`` a dict) as the three msgpack values
    (type, rv, object) of a ``WatchBatch``."""
    etype = str(getattr(event.type, "value", event.type))
    header = TYPE_HEADERS.get(etype) or pack(etype)
    if etype == "ERROR":
        status = getattr(event, "status", None) or event.object
        return header, b"\x00", pack(status)
    obj = event.object
    if isinstance(obj, Mapping):
        return header, rv_header(rv_of(obj)), pack(obj)
    return header, rv_header(int(obj.resource_version)), obj.data


def pack_events(events: Sequence[Any]) -> bytes:
    """The ``WatchBatch.events`` of ``events``: msgpack ``[type0, rv0, object0, ...]``."""
    parts = [array_header(3 * len(events))]
    for ev in events:
        parts.extend(event_parts(ev))
    return b"".join(parts)


def unpack_array(data: bytes | memoryview, *, promote: bool = False) -> list[Any]:
    """A packed array decoded in one msgpack call with the cyclic GC paused (the fresh
    containers cannot form cycles; otherwise collections set off by them walk every live
    object again and again); ``promote``: see :func:`kubemu.gcpause.gc_paused`."""
    with gc_paused(promote=promote):
        flat: list[Any] = decode_trusted(data)  # type: ignore[assignment]
    return flat


def unpack_items(data: bytes | memoryview, *, promote: bool = False) -> list[Obj]:
    """The objects of a packed ``ListResponse.items`` (msgpack ``[rv0, object0, ...]``), each
    with its ``metadata.resourceVersion`` set: the objects cut out (:func:`split_items`) and
    decoded by :func:`~kubemu.apiserver.codec.decode_all` (~25% less CPU than one msgpack call
    for the whole array), with the cyclic GC paused meanwhile. ``promote``: the objects go
    straight to the oldest generation (``gc_paused(promote=True)``), for one chunk of many
    whose young collections between chunks would walk them."""
    if not data:
        return []
    with gc_paused(promote=promote):
        cut = split_items(data)
        items = decode_all([doc for _, doc in cut])
        for (rv, _), obj in zip(cut, items, strict=True):
            if rv:
                set_resource_version(obj, rv)
    return items


_EVENT_TYPES = {t.value: t for t in EventType}


def unpack_events(data: bytes) -> list[WatchEvent]:
    """The events of a ``WatchBatch`` (msgpack ``[type0, rv0, object0, ...]``)."""
    flat = unpack_array(data)
    out: list[WatchEvent] = []
    for i in range(0, len(flat), 3):
        etype, rv, obj = flat[i], flat[i + 1], flat[i + 2]
        if rv:
            set_resource_version(obj, rv)
        out.append(WatchEvent(_EVENT_TYPES.get(etype) or EventType(etype), obj))
    return out


def reader(data: bytes | memoryview) -> tuple[int, Any, Any, Any]:
    """A msgpack reader at the start of the packed array ``data``: (element count, ``unpack``,
    ``skip``, ``tell``), for cutting objects out of it as slices instead of decoding them."""
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(len(data), 1024))
    unpacker.feed(data)
    return unpacker.read_array_header(), unpacker.unpack, unpacker.skip, unpacker.tell


def split_events(data: bytes) -> list[RawWatchItem]:
    """The events of a ``WatchBatch`` undecoded: (type, rv, the object's msgpack bytes cut out
    of the message)."""
    n, unpack, skip, tell = reader(data)
    out: list[RawWatchItem] = []
    append = out.append
    for _ in range(n // 3):
        etype = unpack()
        rv = unpack()
        start = tell()
        skip()
        append((etype, rv, data[start : tell()]))
    return out


def split_items(data: bytes | memoryview) -> list[tuple[int, bytes]]:
    """The objects of a packed ``ListResponse.items`` undecoded: (rv, the object's msgpack
    bytes, copied out of ``data``)."""
    n, unpack, skip, tell = reader(data)
    out: list[tuple[int, bytes]] = []
    append = out.append
    for _ in range(n // 2):
        rv = unpack()
        start = tell()
        skip()
        append((rv, bytes(data[start : tell()])))
    return out
