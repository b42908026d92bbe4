"""msgpack encoding of objects: the only place that knows msgpack.

Objects travel and are stored as msgpack maps (``use_bin_type=True``; strings decode as ``str``).
Decoding untrusted bytes never raises anything but :class:`StatusError`: bytes over
:data:`MAX_REQUEST_BYTES` are ``RequestEntityTooLarge`` (etcd's default request limit, as
kube-apiserver's 3 MiB), malformed msgpack, a non-map document, non-string keys or nesting deeper
than :data:`MAX_DEPTH` are ``BadRequest``.
"""

from __future__ import annotations

from typing import Any, Final

import msgpack  # type: ignore[import-untyped]

from kubemu._core import unpack_many
from kubemu.objects.errors import StatusError

__all__ = [
    "MAX_DEPTH",
    "MAX_REQUEST_BYTES",
    "copy_object",
    "copy_object_bytes",
    "decode",
    "decode_object",
    "decode_spec",
    "decode_trusted",
    "encode",
    "encode_with",
    "split_spec",
]

MAX_REQUEST_BYTES: Final = 3 * 1024 * 1024
MAX_DEPTH: Final = 64
"""Deepest nesting of maps and lists a request may carry (real objects stay under ~20)."""

Obj = dict[str, Any]


def encode(obj: Any) -> bytes:
    """msgpack bytes of ``obj``; ``BadRequest`` for values msgpack cannot carry."""
    try:
        data: bytes = msgpack.packb(obj, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as e:
        raise StatusError.bad_request(f"unable to encode object: {e}") from None
    return data


_KEYS: dict[str, bytes] = {}
"""Packed top-level keys (a handful of names)."""


def encode_with(obj: Obj, key: str, value_data: bytes) -> bytes:
    """``encode(obj)`` where ``obj[key]``'s msgpack is already known as ``value_data`` (a
    template's spec): the map is packed key by key, with those bytes in place of the value.
    Same bytes as :func:`encode` of the object holding the decoded value."""
    n = len(obj)
    if n < 16:
        header = bytes((0x80 | n,))
    elif n < 0x10000:
        header = b"\xde" + n.to_bytes(2, "big")
    else:
        header = b"\xdf" + n.to_bytes(4, "big")
    parts = [header]
    keys = _KEYS
    try:
        for k, v in obj.items():
            packed = keys.get(k)
            if packed is None:
                packed = msgpack.packb(k, use_bin_type=True)
                if len(keys) < 64:
                    keys[k] = packed
            parts.append(packed)
            parts.append(value_data if k == key else msgpack.packb(v, use_bin_type=True))
    except (TypeError, ValueError, OverflowError) as e:
        raise StatusError.bad_request(f"unable to encode object: {e}") from None
    return b"".join(parts)


def decode_trusted(data: bytes | memoryview) -> Obj:
    """Decode bytes this server wrote (stored objects): no checks beyond msgpack's own."""
    obj: Obj = msgpack.unpackb(data, raw=False)
    return obj


DECODE_CHUNK: Final = 1_000
"""Documents per :func:`kubemu._core.unpack_many` call in :func:`decode_all`."""


def decode_all(docs: list[bytes]) -> list[Obj]:
    """Stored documents decoded into fresh dicts, as :func:`decode_trusted` gives them, in one
    call (:func:`kubemu._core.unpack_many`: about 2x faster, equal short strs shared); anything
    it does not decode is decoded by msgpack (its exact result or error). Decoded in chunks
    of :data:`DECODE_CHUNK` documents: unpack_many's table of shared strings lives for one
    call, and over 100,000 pods in one call it grew until decoding cost 3x msgpack's."""
    if len(docs) > DECODE_CHUNK:
        out: list[Obj] = []
        for i in range(0, len(docs), DECODE_CHUNK):
            out += decode_all(docs[i : i + DECODE_CHUNK])
        return out
    try:
        objs: list[Obj] = unpack_many(docs)
    except ValueError:
        objs = [decode_trusted(d) for d in docs]
    return objs


def _check_depth(obj: Any, limit: int) -> None:
    """BadRequest if ``obj`` (as msgpack decodes: plain dicts and lists) nests deeper than
    ``limit`` levels or has a map key that is not a string. A recursive walk: the recursion
    stops at ``limit`` levels, and a call per container is cheaper than a stack of tuples."""
    if obj.__class__ is dict or obj.__class__ is list:
        _walk(obj, 1, limit)


def _walk(value: Any, depth: int, limit: int) -> None:
    if depth > limit:
        raise StatusError.bad_request(f"object is nested too deeply: more than {limit} levels")
    depth += 1
    if value.__class__ is dict:
        for k, v in value.items():
            if k.__class__ is not str:
                raise StatusError.bad_request(f"map keys must be strings, found {type(k).__name__}")
            c = v.__class__
            if c is dict or c is list:
                _walk(v, depth, limit)
    else:
        for v in value:
            c = v.__class__
            if c is dict or c is list:
                _walk(v, depth, limit)


_HEADS: Final = bytes((*range(0x80, 0xA0), 0xC4, 0xC5, 0xC6, 0xDC, 0xDD, 0xDE, 0xDF))
"""The first bytes of msgpack maps and arrays (fixmap, fixarray, array 16/32, map 16/32) and of
bin values (bin 8/16/32)."""
_NOT_HEADS: Final = bytes(b for b in range(256) if b not in _HEADS)
_CONTAINER_HEADS: Final = bytes(b for b in _HEADS if b not in (0xC4, 0xC5, 0xC6))


def _shallow_without_bin(data: bytes, max_depth: int) -> bool:
    """Whether ``data`` surely holds no bin value and no more than ``max_depth`` maps and
    arrays, from its bytes alone (one C pass): every map, array and bin value starts with a
    byte of :data:`_HEADS`, so fewer such bytes (wherever they are: string bytes and integers
    count too) bound the containers, hence the nesting, and no bin byte means no ``bytes``
    map key. A document it passes needs only ``strict_map_key`` (str or bytes keys) instead
    of the :func:`_check_depth` walk; ``False`` says nothing (the walk decides)."""
    heads = data.translate(None, _NOT_HEADS)
    return len(heads) <= max_depth and not heads.translate(None, _CONTAINER_HEADS)


def decode(data: bytes, *, max_bytes: int = MAX_REQUEST_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Decode untrusted msgpack (any document), raising only ``StatusError``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StatusError.bad_request(f"expected msgpack bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise StatusError.request_entity_too_large(
            f"limit is {max_bytes}, request is {len(data)} bytes"
        )
    if data.__class__ is bytes and _shallow_without_bin(data, max_depth):
        try:  # str keys only (no bin value), nesting bounded: no walk
            return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
        except Exception:  # the full path below gives the exact error
            pass
    try:
        obj = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=False,
        )
    except Exception as e:  # msgpack raises several unrelated exception types
        raise StatusError.bad_request(f"unable to decode msgpack: {e}") from None
    _check_depth(obj, max_depth)
    return obj


def decode_object(data: bytes, *, max_bytes: int = MAX_REQUEST_BYTES) -> Obj:
    """Decode an object (a msgpack map with string keys)."""
    obj = decode(data, max_bytes=max_bytes)
    if not isinstance(obj, dict):
        raise StatusError.bad_request(
            f"expected an object (a msgpack map), got {type(obj).__name__}"
        )
    return obj


def split_spec(obj: Obj | bytes, *, max_bytes: int = MAX_REQUEST_BYTES) -> tuple[Obj, bytes | None]:
    """A private copy of a request object (checked as :func:`copy_object`) with its ``spec``
    apart: ``(copy with spec None, the spec's msgpack)`` when the spec is a map, else
    ``(full copy, None)``. The spec's bytes key memos of what depends on the spec alone;
    :func:`decode_trusted` of them is the spec's private copy. A dict costs what
    :func:`copy_object` costs (the same bytes, packed in two parts)."""
    if isinstance(obj, bytes | bytearray | memoryview) or not isinstance(obj, dict):
        new = copy_object(obj, max_bytes=max_bytes)
        spec = new.get("spec")
        if type(spec) is not dict:
            return new, None
        new["spec"] = None
        return new, encode(spec)
    spec = obj.get("spec")
    if type(spec) is not dict:
        return copy_object(obj, max_bytes=max_bytes), None
    spec_data = encode(spec)
    data = encode({k: None if k == "spec" else v for k, v in obj.items()})
    size = len(data) - 1 + len(spec_data)  # nil (1 byte) stands in for the spec: packb(obj)'s
    if size > max_bytes:
        raise StatusError.request_entity_too_large(f"limit is {max_bytes}, request is {size} bytes")
    return _unpack_copy(data), spec_data


def _unpack_copy(data: bytes) -> Obj:
    try:
        copy: Obj = msgpack.unpackb(data, raw=False)
    except Exception as e:  # non-string map keys
        raise StatusError.bad_request(f"unable to decode object: {e}") from None
    return copy


def decode_spec(spec_data: bytes) -> Obj:
    """The private copy of a spec from :func:`split_spec` (non-string map keys: BadRequest, as
    :func:`copy_object`). Bytes that decoded once decode again: a memo keyed by them needs
    this only on a miss."""
    return _unpack_copy(spec_data)


def copy_object(obj: Obj | bytes, *, max_bytes: int = MAX_REQUEST_BYTES) -> Obj:
    """A private copy of a request object (dict or msgpack bytes), checked as :func:`decode`.

    A round trip through msgpack is the cheapest deep copy. Bytes get every check of
    :func:`decode`; a dict from code in this process gets the size limit and msgpack's own
    nesting limit (511 levels) but not the :data:`MAX_DEPTH` walk, which costs as much as the
    copy."""
    return copy_object_bytes(obj, max_bytes=max_bytes)[0]


def copy_object_bytes(obj: Obj | bytes, *, max_bytes: int = MAX_REQUEST_BYTES) -> tuple[Obj, bytes]:
    """:func:`copy_object` and the msgpack bytes the copy was decoded from (the request's
    bytes, or the dict's encoding): ``decode_trusted`` of them gives the same copy again
    (a retry's fresh start) without another encode."""
    if isinstance(obj, bytes | bytearray | memoryview):
        data = bytes(obj)
        return decode_object(data, max_bytes=max_bytes), data
    if not isinstance(obj, dict):
        raise StatusError.bad_request(f"expected an object, got {type(obj).__name__}")
    data = encode(obj)
    if len(data) > max_bytes:
        raise StatusError.request_entity_too_large(
            f"limit is {max_bytes}, request is {len(data)} bytes"
        )
    return _unpack_copy(data), data
