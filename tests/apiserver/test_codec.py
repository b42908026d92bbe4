"""Malformed, oversized and deeply nested documents are BadRequest/RequestEntityTooLarge."""

from __future__ import annotations

from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kubemu.apiserver import APIServer, codec
from kubemu.client.inprocess import InProcessClient
from kubemu.objects import StatusError

from tests.apiserver.conftest import POD


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        codec.decode_object(data)
    except StatusError as e:
        assert e.code == 400


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1",  # never-used byte
        b"\x92\x01",  # truncated array
        b"\x81\x01\x02",  # int key
        msgpack.packb([1, 2]),  # not a map
        msgpack.packb({"a": 1}) + b"\x00",  # trailing data
        b"\xdd\xff\xff\xff\xff",  # huge array header
    ],
)
def test_malformed_msgpack_is_bad_request(data: bytes) -> None:
    with pytest.raises(StatusError) as e:
        codec.decode_object(data)
    assert e.value.code == 400 and e.value.reason == "BadRequest"


def test_deep_nesting_and_size() -> None:
    doc: dict[str, object] = {}
    cur = doc
    for _ in range(200):
        nxt: dict[str, object] = {}
        cur["a"] = nxt
        cur = nxt
    with pytest.raises(StatusError) as e:
        codec.decode_object(msgpack.packb(doc))
    assert e.value.code == 400 and "nested too deeply" in e.value.message
    with pytest.raises(StatusError) as e:
        codec.decode_object(b"\x00" * (codec.MAX_REQUEST_BYTES + 1))
    assert e.value.code == 413 and e.value.reason == "RequestEntityTooLarge"


async def test_create_from_bad_bytes_and_unencodable_dicts(
    api: APIServer, client: InProcessClient
) -> None:
    from kubemu.apiserver import SYSTEM_ADMIN

    with pytest.raises(StatusError) as e:
        await api.create("pods", "default", b"\x92\x01", user=SYSTEM_ADMIN)
    assert e.value.code == 400
    ok = await api.create("pods", "default", msgpack.packb(POD), user=SYSTEM_ADMIN)
    assert ok["metadata"]["name"] == "web"
    bad = dict(POD, extra={1, 2})
    with pytest.raises(StatusError) as e:
        await client.create("pods", "default", bad)
    assert e.value.code == 400
    big = dict(POD, metadata={"name": "big", "annotations": {"a": "x" * (4 * 1024 * 1024)}})
    with pytest.raises(StatusError) as e:
        await client.create("pods", "default", big)
    assert e.value.code == 413


def _walked(data: bytes, max_depth: int) -> Any:
    """:func:`codec.decode` without its fast check: msgpack, then the nesting/key walk."""
    try:
        obj = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False)
    except Exception as e:
        raise StatusError.bad_request(f"unable to decode msgpack: {e}") from None
    codec._check_depth(obj, max_depth)
    return obj


keys = st.one_of(st.text(max_size=3), st.binary(max_size=2), st.integers(-2, 300))
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
    st.text(max_size=4), st.binary(max_size=3),
)  # fmt: skip
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=40,
)


def _outcome(fn: Any, data: bytes, max_depth: int) -> Any:
    try:
        return ("ok", fn(data, max_depth))
    except StatusError as e:
        return ("error", e.code, e.message)


@given(trees, st.integers(1, 8), st.booleans())
@settings(max_examples=500, deadline=None)
def test_decode_fast_check_is_the_walk(tree: Any, max_depth: int, trail: bool) -> None:
    """Documents the byte scan passes decode as msgpack + the walk decodes them; any other
    outcome (deep, non-str keys, bin values, malformed) is the walk's own."""
    data = msgpack.packb(tree, use_bin_type=True) + (b"\x00" if trail else b"")

    def fast(d: bytes, depth: int) -> Any:
        return codec.decode(d, max_depth=depth)

    assert _outcome(fast, data, max_depth) == _outcome(_walked, data, max_depth)


def test_decode_fast_check_bounds() -> None:
    nested: Any = "x"
    for _ in range(3):
        nested = {"a": nested}
    data = msgpack.packb(nested)
    assert codec._shallow_without_bin(data, 3) and not codec._shallow_without_bin(data, 2)
    assert codec.decode(data, max_depth=3) == nested
    with pytest.raises(StatusError, match="nested too deeply"):
        codec.decode(data, max_depth=2)
    with_bin = msgpack.packb({b"k": 1}, use_bin_type=True)
    assert not codec._shallow_without_bin(with_bin, 64)
    with pytest.raises(StatusError, match="map keys must be strings, found bytes"):
        codec.decode(with_bin)
