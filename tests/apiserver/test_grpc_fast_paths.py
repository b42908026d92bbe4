"""The gRPC adapter's hand-built parts: eager execution of multiplexed calls (``run_eager``),
``CallResult``/``ObjectResponse`` serialized by concatenation (must parse as protobuf's own),
and LIST items packed straight from the storage's objects."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from kubemu.api import api_pb2
from kubemu.apiserver.grpc_server import (
    _call_result,
    _list_response,
    _object_response,
    pack_items,
    run_eager,
)
from kubemu.apiserver.listing import StoredPage
from kubemu.apiserver.storage import StoredObject
from kubemu.apiserver.watch import RawObject


def test_run_eager_finishes_a_coroutine_that_does_not_suspend() -> None:
    done: list[int] = []

    async def quick() -> None:
        done.append(1)

    async def main() -> Any:
        return run_eager(quick())

    assert asyncio.run(main()) is None
    assert done == [1]


def test_run_eager_continues_a_suspended_coroutine_as_a_task() -> None:
    steps: list[str] = []

    async def slow(release: asyncio.Future[str]) -> str:
        steps.append("started")
        value = await release  # suspends: the rest runs in the task
        await asyncio.sleep(0)  # a bare yield passes through too
        steps.append(value)
        return value

    async def main() -> None:
        release: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = run_eager(slow(release))
        assert task is not None and steps == ["started"]  # ran up to its first await, now
        release.set_result("released")
        assert await task == "released"
        assert steps == ["started", "released"]

    asyncio.run(main())


def test_run_eager_passes_exceptions_and_cancellation_into_the_coroutine() -> None:
    seen: list[str] = []

    async def failing(f: asyncio.Future[None]) -> None:
        await f

    async def cancellable(f: asyncio.Future[None]) -> None:
        try:
            await f
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main() -> None:
        loop = asyncio.get_running_loop()
        f1: asyncio.Future[None] = loop.create_future()
        t1 = run_eager(failing(f1))
        assert t1 is not None
        f1.set_exception(ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            await t1
        f2: asyncio.Future[None] = loop.create_future()
        t2 = run_eager(cancellable(f2))
        assert t2 is not None
        await asyncio.sleep(0)
        t2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t2
        assert seen == ["cancelled"]

    asyncio.run(main())


def test_call_results_concatenate_into_a_call_result_batch() -> None:
    entries = [
        _call_result(1, b"\x12", b"response-bytes"),
        _call_result(300, b"\x1a", msgpack.packb({"reason": "NotFound"})),
        _call_result(2**40, b"\x12", b""),  # an empty response (BindResponse) is left out
        _call_result(0, b"\x1a", b"x"),  # id 0 (a malformed batch's Status)
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
    serialized = _object_response(obj).SerializeToString()
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
    response = api_pb2.ListResponse.FromString(_list_response(page).SerializeToString())
    assert response.items == pack_items(raw)
    assert (response.kind, response.resource_version, getattr(response, "continue")) == (
        "PodList",
        "99",
        "tok",
    )
    assert response.remaining_item_count == 4
