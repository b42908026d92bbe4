"""The receiving side of a gRPC LIST without protobuf's copy of the items:
:func:`parse_list_response` reads a serialized ``ListResponse`` field by field, keeping the
packed items (msgpack ``[rv0, object0, ...]``, :mod:`kubemu.apiserver.grpc_wire`) as a view into
the message; :class:`PackedList` holds the packed chunks of a LIST (one per message of a
``ListChunked`` stream) and decodes them on demand."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import DecodeError

from kubemu.api import api_pb2
from kubemu.apiserver.grpc_wire import (
    array_header,
    array_len,
    split_items,
    unpack_items,
    varint_at,
)
from kubemu.client.interface import Obj, ObjList

__all__ = ["PackedList", "parse_list_response"]


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
        return sum(array_len(c)[0] for c in self.chunks) // 2

    @property
    def items(self) -> bytes:
        """The whole list as one packed msgpack array (joined: a copy when there are several
        chunks)."""
        if len(self.chunks) == 1:
            return bytes(self.chunks[0])
        n, parts = 0, []
        for c in self.chunks:
            count, header = array_len(c)
            n += count
            parts.append(c[header:])
        return b"".join([array_header(n), *parts]) if n else b""

    def raw_items(self) -> list[tuple[int, bytes]]:
        """(resourceVersion, the object's msgpack bytes) per object, in order; an rv of 0
        means the object carries its own."""
        out: list[tuple[int, bytes]] = []
        for data in self.chunks:
            out += split_items(data)
        return out

    def decode(self) -> ObjList:
        """Every object a dict with its resourceVersion (one msgpack call per chunk, GC
        paused)."""
        items: list[Obj] = []
        for c in self.chunks:
            items += unpack_items(c)
        return self.with_items(items)

    def with_items(self, items: list[Obj]) -> ObjList:
        """The :class:`ObjList` of this list's metadata with ``items`` (decoded elsewhere)."""
        return ObjList(
            kind=self.kind,
            api_version=self.api_version,
            resource_version=self.resource_version,
            items=items,
            continue_=self.continue_,
            remaining_item_count=self.remaining_item_count,
        )


_LR = api_pb2.ListResponse
_LIST_STRINGS = {
    _LR.KIND_FIELD_NUMBER: "kind",
    _LR.API_VERSION_FIELD_NUMBER: "api_version",
    _LR.RESOURCE_VERSION_FIELD_NUMBER: "resource_version",
    _LR.CONTINUE_FIELD_NUMBER: "continue_",
}
_ITEMS = _LR.ITEMS_FIELD_NUMBER
_REMAINING = _LR.REMAINING_ITEM_COUNT_FIELD_NUMBER


def parse_list_response(data: bytes) -> PackedList:
    """A serialized ``ListResponse`` read without protobuf's copy of ``items`` (a view into
    ``data``); DecodeError if malformed. Unknown fields are skipped, as protobuf does."""
    buf = memoryview(data)
    out = PackedList()
    i, end = 0, len(buf)
    try:
        while i < end:
            tag, i = varint_at(buf, i)
            field, wire = tag >> 3, tag & 7
            if wire == 2:
                size, i = varint_at(buf, i)
                if i + size > end:
                    raise DecodeError("truncated field")
                value = buf[i : i + size]
                i += size
                if field == _ITEMS:
                    if len(value):
                        out.chunks = [value]
                elif field in _LIST_STRINGS:
                    setattr(out, _LIST_STRINGS[field], str(value, "utf-8"))
            elif wire == 0:
                value_int, i = varint_at(buf, i)
                if field == _REMAINING:
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
