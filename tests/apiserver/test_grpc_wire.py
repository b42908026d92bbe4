"""The packed arrays both sides of the gRPC API share (kubemu.apiserver.grpc_wire): what the
server packs by concatenation the client unpacks in one msgpack call, in order, with each
object's resourceVersion; events also undecoded, cut out of the message."""

from __future__ import annotations

import msgpack  # type: ignore[import-untyped]
import pytest
from google.protobuf.message import DecodeError
from kubemu.apiserver.grpc_wire import (
    pack_events,
    pack_items,
    split_events,
    split_items,
    unpack_events,
    unpack_items,
    varint,
    varint_at,
)
from kubemu.apiserver.watch import RawObject, RawWatchEvent
from kubemu.client.interface import EventType
from kubemu.objects.errors import StatusError


def test_packed_items_round_trip() -> None:

    stored = [
        RawObject(msgpack.packb({"metadata": {"name": f"o{i}"}}), 2**40 + i) for i in range(3)
    ]
    decoded = {"kind": "Pod", "metadata": {"name": "d", "resourceVersion": "7"}}
    bare = {"kind": "Pod"}
    items = unpack_items(pack_items([*stored, decoded, bare]))
    assert [i.get("metadata", {}).get("name") for i in items] == ["o0", "o1", "o2", "d", None]
    assert [i.get("metadata", {}).get("resourceVersion") for i in items] == [
        str(2**40), str(2**40 + 1), str(2**40 + 2), "7", None,
    ]  # fmt: skip
    assert items[4] == {"kind": "Pod"}  # rv 0: the object as it was sent
    assert unpack_items(pack_items([])) == [] and unpack_items(b"") == []


def test_packed_events_round_trip_in_order() -> None:
    events = [
        RawWatchEvent("ADDED", RawObject(msgpack.packb({"metadata": {"name": "a"}}), 3)),
        RawWatchEvent("MODIFIED", RawObject(msgpack.packb({"metadata": {"name": "a"}}), 4)),
        RawWatchEvent("DELETED", RawObject(msgpack.packb({"metadata": {"name": "a"}}), 5)),
        RawWatchEvent("BOOKMARK", RawObject(msgpack.packb({"kind": "Pod", "metadata": {}}), 6)),
        RawWatchEvent("ERROR", status=StatusError.gone("relist").to_status()),
    ]
    out = unpack_events(pack_events(events))
    assert [(e.type, e.resource_version) for e in out] == [
        (EventType.ADDED, "3"), (EventType.MODIFIED, "4"), (EventType.DELETED, "5"),
        (EventType.BOOKMARK, "6"), (EventType.ERROR, ""),
    ]  # fmt: skip
    assert out[4].object["reason"] == "Gone"


def test_split_events_cuts_the_objects_out_undecoded() -> None:
    obj = msgpack.packb({"metadata": {"name": "a"}, "spec": {"x": [1, 2]}})
    events = [
        RawWatchEvent("ADDED", RawObject(obj, 2**40)),
        RawWatchEvent("DELETED", RawObject(obj, 9)),
        RawWatchEvent("ERROR", status={"reason": "Gone"}),
    ]
    assert split_events(pack_events(events)) == [
        ("ADDED", 2**40, obj), ("DELETED", 9, obj), ("ERROR", 0, msgpack.packb({"reason": "Gone"})),
    ]  # fmt: skip
    assert split_events(pack_events([])) == []


def test_split_items_copies_each_object_out_of_a_view() -> None:
    objs = [msgpack.packb({"i": i}) for i in range(3)]
    packed = pack_items([RawObject(o, 5 + i) for i, o in enumerate(objs)])
    got = split_items(memoryview(packed))
    assert got == [(5, objs[0]), (6, objs[1]), (7, objs[2])]
    assert all(type(data) is bytes for _, data in got)


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 2**32, 2**63 - 1, 2**64 - 1])
def test_varint_round_trip(n: int) -> None:
    data = varint(n)
    assert varint_at(memoryview(b"\x00" + data + b"\x01"), 1) == (n, 1 + len(data))
    assert varint(300) == b"\xac\x02"  # protobuf's encoding of 300


def test_varint_at_rejects_overlong_and_truncated() -> None:
    with pytest.raises(DecodeError, match="malformed varint"):
        varint_at(memoryview(b"\xff" * 11), 0)
    with pytest.raises(IndexError):
        varint_at(memoryview(b"\x80\x80"), 0)
