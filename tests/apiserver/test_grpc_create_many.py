"""The gRPC CreateMany response: stored bytes sent as they are, the same message protobuf
builds from the decoded result; and the client's result equal to one create per object."""

from __future__ import annotations

import msgpack  # type: ignore[import-untyped]
from kubemu.api import api_pb2
from kubemu.apiserver import APIServer, EmbeddedStorage, codec
from kubemu.apiserver.grpc_messages import batch_response
from kubemu.apiserver.grpc_server import _varint, create_many_response
from kubemu.apiserver.grpc_wire import varint
from kubemu.apiserver.request import SYSTEM_ADMIN
from kubemu.client.grpc_client import _batch
from kubemu.client.interface import BatchResult
from kubemu.objects import StatusError
from kubemu.store import Store

from tests.apiserver.conftest import pod


def _mixed() -> BatchResult:
    doc = msgpack.packb({"metadata": {"name": "a", "uid": "u"}}, use_bin_type=True)
    big = {"metadata": {"name": "big", "resourceVersion": "5"}, "data": "x" * 20000}
    c = {"metadata": {"name": "c", "resourceVersion": "12"}}
    return BatchResult.stored_objects(
        [None, None, c, None, {"x": 1}, None, big],
        [None, StatusError.already_exists("pods", "b", ""), None, None, None, None, None],
        {0: (doc, 300), 3: (doc, 2**40)},
        codec.decode_all,
    )


def test_serialized_response_reads_as_the_decoded_results() -> None:
    """The stored bytes go out without the resourceVersion in them (it is the RawObject's, as
    for GET and LIST); a client reads the same objects as from the decoded result's response."""
    fast = api_pb2.BatchResponse.FromString(create_many_response(_mixed()).SerializeToString())
    slow = api_pb2.BatchResponse.FromString(batch_response(_mixed()).SerializeToString())
    got, want = _batch(fast), _batch(slow)
    assert got.objects == want.objects == _mixed().objects
    assert [e and (e.code, e.message) for e in got.errors] == [
        e and (e.code, e.message) for e in want.errors
    ]
    assert fast.items[0].object.data == _mixed().stored(0)[0]  # type: ignore[index]
    assert fast.items[0].object.resource_version == 300
    assert fast.items[1].status and not fast.items[1].HasField("object")
    assert fast.items[3].object.resource_version == 2**40
    for i in (1, 2, 4, 5, 6):  # errors, decoded objects, an empty item: as protobuf sends them
        assert fast.items[i] == slow.items[i]


def test_varint_short_forms() -> None:
    for n in [*range(300), 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 2**40, 2**63]:
        assert _varint(n) == varint(n), n


async def test_create_many_over_the_wire_format() -> None:
    server = APIServer(EmbeddedStorage(Store(fsync=False)))
    objs = [msgpack.packb(pod(f"p-{i}"), use_bin_type=True) for i in range(5)]
    objs.append(objs[1])  # AlreadyExists
    result = await server.create_many("pods", "default", objs, user=SYSTEM_ADMIN)
    assert result.stored(1) is not None  # stamped: held as the stored bytes
    wire = api_pb2.BatchResponse.FromString(create_many_response(result).SerializeToString())
    for i, item in enumerate(wire.items[:5]):
        got = server.storage.get(server.kind("pods").key("default", f"p-{i}"))
        assert got is not None and item.object.resource_version == got.revision
        if i:  # stamped: exactly the stored bytes
            assert item.object.data == got.value
        else:  # the first, which taught the stamper its variant: the object as create returns it
            stored = codec.decode_trusted(got.value)
            stored["metadata"]["resourceVersion"] = str(got.revision)
            assert codec.decode_trusted(item.object.data) == stored
    assert StatusError.from_status(codec.decode_trusted(wire.items[5].status)).code == 409
    await server.close()
