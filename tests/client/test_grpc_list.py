"""GrpcClient's LIST without protobuf's copy of the items: ``parse_list_response`` reads what
protobuf writes (field by field, unknown fields skipped, malformed input a DecodeError), and
``list_raw`` gives the packed items that ``list`` decodes."""

from __future__ import annotations

from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from google.protobuf.message import DecodeError
from kubemu.api import api_pb2
from kubemu.apiserver import grpc_server
from kubemu.apiserver.grpc_wire import pack_items
from kubemu.apiserver.watch import RawObject
from kubemu.client.grpc_list import PackedList, parse_list_response
from kubemu.client.interface import ListOptions
from kubemu.objects.errors import StatusError

from tests.client.conftest import Backend


def _response(**fields: object) -> bytes:
    msg = api_pb2.ListResponse(**fields)  # type: ignore[arg-type]
    return msg.SerializeToString()


def test_parse_list_response_reads_every_field() -> None:
    items = pack_items([RawObject(msgpack.packb({"metadata": {"name": "a"}}), 5)])
    data = _response(
        kind="PodList", api_version="v1", resource_version="42", items=items,
        remaining_item_count=7, **{"continue": "tok"},
    )  # fmt: skip
    got = parse_list_response(data)
    assert (got.kind, got.api_version, got.resource_version, got.continue_) == (
        "PodList",
        "v1",
        "42",
        "tok",
    )
    assert got.remaining_item_count == 7 and got.items == items and len(got) == 1
    assert got.raw_items() == [(5, msgpack.packb({"metadata": {"name": "a"}}))]
    decoded = got.decode()
    assert decoded.items == [{"metadata": {"name": "a", "resourceVersion": "5"}}]
    assert decoded.remaining_item_count == 7 and decoded.continue_ == "tok"


def test_parse_list_response_defaults_negative_and_unknown_fields() -> None:
    empty = parse_list_response(b"")
    assert (empty.kind, empty.remaining_item_count, len(empty), empty.raw_items()) == (
        "",
        None,
        0,
        [],
    )
    assert empty.decode().items == []
    assert parse_list_response(_response(remaining_item_count=0)).remaining_item_count == 0
    assert parse_list_response(_response(remaining_item_count=-3)).remaining_item_count == -3
    # Unknown fields of every wire type (a newer server) are skipped.
    unknown = b"\x40\x96\x01" + b"\x49" + b"\x00" * 8 + b"\x55" + b"\x00" * 4 + b"\x62\x02hi"
    got = parse_list_response(unknown + _response(kind="PodList"))
    assert got.kind == "PodList"


@pytest.mark.parametrize(
    "data",
    [
        b"\x0a\x05ab",  # a string longer than the message
        b"\x0a",  # a length missing
        b"\x28\xff",  # a truncated varint
        b"\x0b",  # wire type 3 (groups) is not used by this message
        b"\x0a\x02\xff\xfe",  # kind not UTF-8
        b"\x28" + b"\xff" * 11,  # a varint over 64 bits
    ],
)
def test_parse_list_response_rejects_malformed(data: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_list_response(data)


def test_packed_list_of_many_items_in_chunks() -> None:
    raws = [RawObject(msgpack.packb({"i": i, "s": "x" * i}), 100 + i) for i in range(300)]
    chunks = [memoryview(pack_items(raws[i : i + 7])) for i in range(0, 300, 7)]
    packed = PackedList(chunks=[*chunks, b""])
    assert len(packed) == 300 and len(packed.chunks) == len(chunks)  # empty chunks dropped
    assert packed.raw_items() == [(r.resource_version, r.data) for r in raws]
    assert packed.items == pack_items(raws)  # one array, joined
    assert [o["i"] for o in packed.decode().items] == list(range(300))
    small = PackedList(chunks=[msgpack.packb([1, {"a": 1}])])  # a fixarray header
    assert len(small) == 1 and small.raw_items() == [(1, msgpack.packb({"a": 1}))]


async def test_chunked_list_is_the_same_list(
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ListChunked pages (here of 7) at one revision: the same items, in order, as one
    List; a write between pages is not seen; limit/continue/not-older-than get one message."""
    monkeypatch.setattr(grpc_server, "LIST_CHUNK", 7)
    cms = [{"metadata": {"name": f"cm-{i:04d}"}, "data": {"i": str(i)}} for i in range(100)]
    await backend.inprocess.create_many("configmaps", "default", cms)
    listed = await backend.inprocess.list("configmaps", "default")
    api = backend.api
    list_stored = api.list_stored
    wrote: list[bool] = []

    async def racing(*args: Any, **kwargs: Any) -> Any:
        page = await list_stored(*args, **kwargs)
        if not wrote:  # a write after the first page
            wrote.append(True)
            await backend.inprocess.create("configmaps", "default", {"metadata": {"name": "z"}})
        return page

    monkeypatch.setattr(api, "list_stored", racing)
    packed = await backend.grpc.list_raw("configmaps", "default")
    assert len(packed.chunks) == 15 and packed.decode() == listed
    assert await backend.grpc.list("configmaps", "default") == await backend.inprocess.list(
        "configmaps", "default"
    )  # the newest state, with "z"
    page = await backend.grpc.list_raw("configmaps", "default", ListOptions(limit=20))
    assert len(page.chunks) == 1 and len(page) == 20 and page.remaining_item_count == 81
    newer = ListOptions(resource_version=listed.resource_version)  # not older than: newest
    assert len((await backend.grpc.list_raw("configmaps", "default", newer)).chunks) == 1
    exact = ListOptions(resource_version=listed.resource_version, resource_version_match="Exact")
    at = await backend.grpc.list("configmaps", "default", exact)
    assert at.items == listed.items and at.resource_version == listed.resource_version


async def test_chunked_list_falls_back_to_list(
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream that fails after its first chunk (here: Gone, as a compaction would cause)
    is answered by one List from scratch; errors before any chunk are the LIST's errors."""
    monkeypatch.setattr(grpc_server, "LIST_CHUNK", 5)
    cms = [{"metadata": {"name": f"cm-{i:04d}"}, "data": {}} for i in range(12)]
    await backend.inprocess.create_many("configmaps", "default", cms)
    api = backend.api
    list_stored = api.list_stored

    async def gone_on_continue(*args: Any, **kwargs: Any) -> Any:
        options = args[2] if len(args) > 2 else kwargs.get("options")
        if options is not None and options.continue_:
            raise StatusError.gone("The provided continue parameter is too old")
        return await list_stored(*args, **kwargs)

    monkeypatch.setattr(api, "list_stored", gone_on_continue)
    got = await backend.grpc.list("configmaps", "default")
    assert [o["metadata"]["name"] for o in got.items] == [f"cm-{i:04d}" for i in range(12)]
    assert len(await backend.grpc.list_raw("configmaps", "default")) == 12
    with pytest.raises(StatusError) as e:
        await backend.grpc.list("configmaps", "default", ListOptions(label_selector="a in"))
    assert e.value.reason == "BadRequest"


async def test_list_raw_is_list_undecoded(backend: Backend) -> None:
    cms = [{"metadata": {"name": f"cm-{i:04d}"}, "data": {"i": str(i)}} for i in range(250)]
    await backend.inprocess.create_many("configmaps", "default", cms)
    packed = await backend.grpc.list_raw("configmaps", "default")
    assert len(packed) == 250 and packed.kind == "ConfigMapList"
    listed = await backend.inprocess.list("configmaps", "default")
    assert packed.decode() == listed
    assert [rv for rv, _ in packed.raw_items()] == [
        int(o["metadata"]["resourceVersion"]) for o in listed.items
    ]
    page = await backend.grpc.list_raw("configmaps", "default", ListOptions(limit=10))
    assert len(page) == 10 and page.continue_ and page.remaining_item_count == 240
