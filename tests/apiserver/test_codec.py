"""Malformed, oversized and deeply nested documents are BadRequest/RequestEntityTooLarge."""

from __future__ import annotations

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
