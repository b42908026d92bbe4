"""EmbeddedStorage CAS semantics and the request metrics."""

from __future__ import annotations

import pytest
from kubemu.apiserver import APIServer
from kubemu.apiserver.storage import (
    EmbeddedStorage,
    KeyExists,
    KeyMissing,
    RevisionMismatch,
    StorageCompacted,
)
from kubemu.client.inprocess import InProcessClient
from kubemu.objects import StatusError
from kubemu.store import Store

from tests.apiserver.conftest import pod


def test_storage_cas() -> None:
    s = EmbeddedStorage(Store(fsync=False))
    r1 = s.create(b"/registry/x/a", b"1")
    with pytest.raises(KeyExists):
        s.create(b"/registry/x/a", b"2")
    r2 = s.update(b"/registry/x/a", b"2", r1)
    with pytest.raises(RevisionMismatch) as e:
        s.update(b"/registry/x/a", b"3", r1)
    assert e.value.current is not None and e.value.current.revision == r2
    with pytest.raises(KeyMissing):
        s.delete(b"/registry/x/b", 1)
    gone = s.delete(b"/registry/x/a", r2)
    assert gone.value == b"2"
    assert s.get(b"/registry/x/a") is None


def test_storage_batches_and_list() -> None:
    st = Store(fsync=False)
    s = EmbeddedStorage(st)
    out = s.create_many([(f"/registry/x/{i:03d}".encode(), b"v") for i in range(150)])
    assert all(isinstance(r, int) for r in out)
    again = s.create_many([(b"/registry/x/000", b"v"), (b"/registry/x/new", b"v")])
    assert isinstance(again[0], KeyExists) and isinstance(again[1], int)
    cur = s.get(b"/registry/x/001")
    assert cur is not None
    res = s.update_many([(b"/registry/x/001", b"w", cur.revision), (b"/registry/x/002", b"w", 1)])
    assert isinstance(res[0], int) and isinstance(res[1], RevisionMismatch)
    page = s.list(b"/registry/x/", limit=10)
    assert len(page.items) == 10 and page.more and page.count == 151
    rev = st.revision
    st.compact(rev)
    with pytest.raises(StorageCompacted):
        s.list(b"/registry/x/", revision=rev - 5)


async def test_request_metrics(client: InProcessClient, api: APIServer) -> None:
    await client.create("pods", "default", pod())
    with pytest.raises(StatusError):
        await client.get("pods", "default", "nope")
    reg = api.metrics.registry
    labels = {"verb": "create", "resource": "pods", "subresource": "", "code": "201"}
    assert reg.get_sample_value("apiserver_request_total", labels) == 1
    labels = {"verb": "get", "resource": "pods", "subresource": "", "code": "404"}
    assert reg.get_sample_value("apiserver_request_total", labels) == 1
    count = reg.get_sample_value(
        "apiserver_request_duration_seconds_count",
        {"verb": "create", "resource": "pods", "subresource": ""},
    )
    assert count == 1
    inflight = reg.get_sample_value(
        "apiserver_current_inflight_requests", {"request_kind": "mutating"}
    )
    assert inflight == 0


async def test_inflight_gauge_counts_requests_in_flight(
    client: InProcessClient, api: APIServer
) -> None:
    """The in-flight gauges (deque counters read at collection) show a request while it runs,
    by kind, and none after it, also when it fails."""
    reg = api.metrics.registry
    seen: list[tuple[float | None, float | None]] = []

    class Spy:
        name = "Spy"

        def admit(self, a: object, obj: object, old: object) -> None:
            seen.append(
                (
                    reg.get_sample_value(
                        "apiserver_current_inflight_requests", {"request_kind": "mutating"}
                    ),
                    reg.get_sample_value(
                        "apiserver_current_inflight_requests", {"request_kind": "readOnly"}
                    ),
                )
            )

        def validate(self, a: object, obj: object, old: object) -> None:
            return None

    api.admission.plugins = (*api.admission.plugins, Spy())
    await client.create("pods", "default", pod())
    assert seen == [(1.0, 0.0)]
    with pytest.raises(StatusError):
        await client.create("pods", "default", pod())  # AlreadyExists
    api.metrics.inflight_readonly.inc()  # a read in flight meanwhile
    for kind, want in (("mutating", 0.0), ("readOnly", 1.0)):
        got = reg.get_sample_value("apiserver_current_inflight_requests", {"request_kind": kind})
        assert got == want
    api.metrics.inflight_readonly.dec()
    assert (
        reg.get_sample_value("apiserver_current_inflight_requests", {"request_kind": "readOnly"})
        == 0.0
    )
