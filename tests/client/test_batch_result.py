"""BatchResult: objects given as stored bytes are decoded (all at once) on first read, equal to
the eagerly decoded objects; until then each is available as its stored bytes."""

from __future__ import annotations

import msgpack  # type: ignore[import-untyped]
from kubemu.client.interface import BatchResult
from kubemu.objects import StatusError


def _doc(name: str) -> bytes:
    return msgpack.packb(
        {"kind": "Pod", "metadata": {"name": name, "uid": "u"}, "spec": {}}, use_bin_type=True
    )


def test_stored_objects_decode_on_first_read() -> None:
    calls: list[int] = []

    def decode_all(docs: list[bytes]) -> list[dict[str, object]]:
        calls.append(len(docs))
        return [msgpack.unpackb(d) for d in docs]

    err = StatusError.already_exists("pods", "b", "")
    eager = {"metadata": {"name": "c", "resourceVersion": "9"}}
    result = BatchResult.stored_objects(
        [None, None, eager, None],
        [None, err, None, None],
        {0: (_doc("a"), 7), 3: (_doc("d"), 8)},
        decode_all,
    )
    assert result.stored(0) == (_doc("a"), 7) and result.stored(2) is None
    assert not result.ok and calls == []
    objs = result.objects
    assert calls == [2]  # one call for all stored items
    assert objs[0] == {
        "kind": "Pod",
        "metadata": {"name": "a", "uid": "u", "resourceVersion": "7"},
        "spec": {},
    }
    assert objs[1] is None and objs[2] is eager
    assert objs[3] is not None and objs[3]["metadata"]["resourceVersion"] == "8"
    assert result.stored(0) is None  # decoded now
    assert result.objects is objs and calls == [2]  # not decoded again


def test_equality_and_plain_construction() -> None:
    plain = BatchResult([{"metadata": {"name": "a", "uid": "u", "resourceVersion": "7"}}], [None])
    lazy = BatchResult.stored_objects(
        [None],
        [None],
        {0: (msgpack.packb({"metadata": {"name": "a", "uid": "u"}}), 7)},
        lambda docs: [msgpack.unpackb(d) for d in docs],
    )
    assert lazy == plain and plain.ok
    assert lazy != BatchResult([None], [None])
    empty = BatchResult()
    empty.objects.append(None)
    empty.errors.append(None)
    assert empty == BatchResult([None], [None])
    assert "objects=[None]" in repr(empty)
    empty.objects = [{"x": 1}]
    assert empty.objects == [{"x": 1}]
