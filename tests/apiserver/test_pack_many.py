"""kubemu._core.pack_many gives msgpack's own bytes (``packb(obj, use_bin_type=True)``) for the
dicts it packs, and None for what it leaves to msgpack."""

from __future__ import annotations

import enum
from typing import Any

import msgpack  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st
from kubemu._core import pack_many

_EDGES = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]
_NEGATIVE_EDGES = [-1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63)]
_ints = st.one_of(st.integers(-(2**63), 2**64 - 1), st.sampled_from([*_EDGES, *_NEGATIVE_EDGES]))
_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "é" * 16, "a" * 31, "a" * 32, "a" * 255, "a" * 256, "a" * 65536]),
)
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    _ints,
    st.floats(allow_nan=True, allow_infinity=True),
    _texts,
    st.binary(max_size=300),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=20), st.dictionaries(st.one_of(_texts, _ints), inner, max_size=20)
    ),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_texts, _values, max_size=20))
def test_same_bytes_as_msgpack(obj: dict[str, Any]) -> None:
    assert pack_many([obj]) == [msgpack.packb(obj, use_bin_type=True)]


def test_long_containers_and_big_values() -> None:
    obj = {
        "list": list(range(70000)),
        "map": {str(i): i for i in range(70000)},
        "bytes": b"x" * 70000,
        "str": "y" * 70000,
        "nan": float("nan"),
    }
    assert pack_many([obj]) == [msgpack.packb(obj, use_bin_type=True)]


class _Color(enum.StrEnum):
    RED = "red"


class _Dict(dict[str, Any]):
    pass


def test_what_it_leaves_to_msgpack_is_none() -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(600):
        cur["a"] = {}
        cur = cur["a"]
    left = [
        b"\x80",  # not a dict
        [1],
        _Dict(a=1),  # a dict subclass
        {"a": (1, 2)},  # a tuple
        {"a": _Color.RED},  # a str subclass
        {"a": 2**64},  # beyond 64 bits
        {"a": -(2**63) - 1},
        {"a": "\ud800"},  # a lone surrogate: not UTF-8
        {"a": object()},
        deep,
    ]
    assert pack_many(left) == [None] * len(left)
    assert pack_many(iter([{"a": 1}, None])) == [b"\x81\xa1a\x01", None]


def test_shared_containers_pack_as_msgpack_does() -> None:
    """Copies of a template share their spec (the same dict): packed once per call and
    copied, the bytes are still msgpack's, including a container met twice in one object
    and small ones below the reuse size."""
    spec = {"containers": [{"name": "c", "image": "x" * 200, "args": ["a"] * 20}], "n": 1}
    small = {"a": 1}
    objs = [
        {"metadata": {"name": f"p-{i}", "labels": small}, "spec": spec, "again": spec}
        for i in range(20)
    ]
    assert pack_many(objs) == [msgpack.packb(o, use_bin_type=True) for o in objs]
    spec["n"] = 2  # a later call sees the change
    assert pack_many(objs[:1]) == [msgpack.packb(objs[0], use_bin_type=True)]
