"""kubemu._core.unpack_many (rust/kubemu-py/src/objects.rs) decodes as msgpack.unpackb does, or
raises ValueError — never another result, never a crash."""

from __future__ import annotations

import math
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kubemu._core import unpack_many

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.binary(max_size=8),
)
_docs = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=6), st.binary(max_size=3)), inner, max_size=5),
    ),
    max_leaves=40,
)


def _same(a: Any, b: Any) -> bool:
    """Equal with types (1 vs 1.0 vs True differ) and key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(st.lists(_docs, max_size=4), st.booleans())
def test_unpack_many_matches_msgpack(docs: list[Any], single_float: bool) -> None:
    try:
        data = [msgpack.packb(d, use_bin_type=True, use_single_float=single_float) for d in docs]
    except OverflowError:  # a double out of float32's range
        data = [msgpack.packb(d, use_bin_type=True) for d in docs]
    got = unpack_many(data)
    want = [msgpack.unpackb(d, raw=False) for d in data]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert _same(g, w), (g, w)


def test_decoded_documents_are_independent() -> None:
    doc = {"spec": {"containers": [{"name": "a"}]}, "labels": {"app": "web"}}
    data = msgpack.packb(doc)
    a, b = unpack_many([data, data])
    assert a == b == doc
    a["spec"]["containers"].append(1)
    assert b == doc  # containers are fresh per document (strs may be shared: immutable)


@given(st.binary(max_size=40))
def test_garbage_is_a_value_error_or_what_msgpack_gives(data: bytes) -> None:
    try:
        want: Any = msgpack.unpackb(data, raw=False)
    except Exception:
        want = None
        with pytest.raises(ValueError):
            unpack_many([data])
        return
    try:
        got = unpack_many([data])[0]
    except ValueError:
        return  # e.g. an ext type: the caller decodes with msgpack then
    assert _same(got, want)


def test_refusals() -> None:
    for data in (
        msgpack.packb({1: "int key"}, strict_types=False),
        msgpack.packb(msgpack.ExtType(5, b"x")),
        b"\xa1\xff",  # invalid UTF-8
        msgpack.packb("x") + b"\xc0",  # trailing bytes
        b"\x91" * 2000 + b"\xc0",  # nested deeper than 1,024
    ):
        with pytest.raises(ValueError):
            unpack_many([data])
