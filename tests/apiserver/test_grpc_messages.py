"""The gRPC server's hand-serialized responses parse as protobuf's own: ``CallResult`` entries
concatenate into a ``CallResultBatch``, ``ObjectResponse`` is byte-identical to protobuf's, and
LIST items are packed straight from the storage's objects into a ``ListResponse``."""

from __future__ import annotations

from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from kubemu.api import api_pb2
from kubemu.apiserver.grpc_messages import call_result, list_response, object_response
from kubemu.apiserver.grpc_wire import pack_items
from kubemu.apiserver.listing import StoredPage
from kubemu.apiserver.storage import StoredObject
from kubemu.apiserver.watch import RawObject


def test_call_results_concatenate_into_a_call_result_batch() -> None:
    entries = [
        call_result(1, b"\x12", b"response-bytes"),
        call_result(300, b"\x1a", msgpack.packb({"reason": "NotFound"})),
        call_result(2**40, b"\x12", b""),  # an empty response (BindResponse) is left out
        call_result(0, b"\x1a", b"x"),  # id 0 (a malformed batch's Status)
    ]
    batch = api_pb2.CallResultBatch.FromString(b"".join(entries))
    got = [(r.id, r.response, r.status) for r in batch.results]
    assert got == [
        (1, b"response-bytes", b""),
        (300, b"", msgpack.packb({"reason": "NotFound"})),
        (2**40, b"", b""),
        (0, b"", b"x"),
    ]


@pytest.mark.parametrize(
    ("obj", "data", "rv"),
    [
        (RawObject(b"\x81\xa1a\x01", 7), b"\x81\xa1a\x01", 7),
        (RawObject(b"\x80", 0), b"\x80", 0),  # a dry run: no resourceVersion
        (RawObject(b"\x80" * 300, 2**62), b"\x80" * 300, 2**62),
        ({"metadata": {"name": "x", "resourceVersion": "12"}}, None, 12),
    ],
)
def test_object_response_parses_as_protobuf(obj: Any, data: bytes | None, rv: int) -> None:
    serialized = object_response(obj).SerializeToString()
    parsed = api_pb2.ObjectResponse.FromString(serialized)
    assert parsed.object.resource_version == rv
    if data is None:
        assert msgpack.unpackb(parsed.object.data) == obj
    else:
        assert parsed.object.data == data
    reference = api_pb2.ObjectResponse(
        object=api_pb2.RawObject(data=parsed.object.data, resource_version=rv)
    )
    assert serialized == reference.SerializeToString()


def test_stored_items_pack_as_raw_objects() -> None:
    stored = [StoredObject(b"/k/%d" % i, msgpack.packb({"i": i}), 10 + i) for i in range(5)]
    raw = [RawObject(s.value, s.revision) for s in stored]
    assert pack_items(stored) == pack_items(raw)
    assert msgpack.unpackb(pack_items(stored)) == [
        x for s in stored for x in (s.revision, {"i": s.revision - 10})
    ]
    mixed: list[Any] = [stored[0], raw[1], {"metadata": {"resourceVersion": "3"}}]
    assert msgpack.unpackb(pack_items(mixed))[::2] == [10, 11, 3]
    page = StoredPage("PodList", "v1", "99", stored, "tok", 4)
    response = api_pb2.ListResponse.FromString(list_response(page).SerializeToString())
    assert response.items == pack_items(raw)
    assert (response.kind, response.resource_version, getattr(response, "continue")) == (
        "PodList",
        "99",
        "tok",
    )
    assert response.remaining_item_count == 4
