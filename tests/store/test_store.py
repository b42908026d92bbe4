"""The Pythonic face of the store: kubemu.store on top of kubemu._core."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from kubemu import store as ks


def test_put_range_delete_roundtrip() -> None:
    with ks.Store() as s:
        assert s.revision == 1
        r = s.put(b"/registry/pods/default/a", b"v1")
        assert r.revision == 2 and r.prev_kv is None
        r = s.put(b"/registry/pods/default/a", b"v2", prev_kv=True)
        assert r.prev_kv is not None and r.prev_kv.value == b"v1"
        kv = s.get(b"/registry/pods/default/a")
        assert kv is not None
        assert (kv.value, kv.version, kv.create_revision, kv.mod_revision) == (b"v2", 2, 2, 3)
        assert s.get(b"/registry/pods/default/a", revision=2).value == b"v1"  # type: ignore[union-attr]
        d = s.delete_range(b"/registry/pods/", ks.prefix_end(b"/registry/pods/"), prev_kv=True)
        assert d.deleted == 1 and d.prev_kvs[0].value == b"v2"
        assert s.get(b"/registry/pods/default/a") is None


def test_put_many_one_revision_each_and_all_or_nothing() -> None:
    with ks.Store() as s:
        last = s.put_many([(b"k%d" % i, b"v") for i in range(100)])
        assert last == 101
        assert s.range(b"k", b"l", count_only=True).count == 100
        with pytest.raises(ks.InvalidArgumentError):
            s.put_many([(b"ok", b"v"), (b"", b"v")])
        with pytest.raises(ks.InvalidArgumentError):
            s.put_many([(b"ok", "not bytes")])  # type: ignore[list-item]
        with pytest.raises(ks.LeaseNotFoundError):
            s.put_many([(b"ok", b"v")], lease=12345)
        assert s.get(b"ok") is None and s.revision == 101


@pytest.mark.parametrize(
    ("call", "exc"),
    [
        (lambda s: s.put(b"", b"v"), ks.InvalidArgumentError),
        (lambda s: s.range(b"b", b"a"), ks.InvalidArgumentError),
        (lambda s: s.range(b"a", b"a"), ks.InvalidArgumentError),
        (lambda s: s.range(b"a", revision=-1), ks.InvalidArgumentError),
        (lambda s: s.range(b"a", revision=99), ks.FutureRevisionError),
        (lambda s: s.range(b"a", sort_order="sideways"), ks.InvalidArgumentError),
        (lambda s: s.put(b"k", b"x" * (1536 * 1024 + 1)), ks.RequestTooLargeError),
        (lambda s: s.put(b"k", b"v", lease=7), ks.LeaseNotFoundError),
        (lambda s: s.lease_revoke(7), ks.LeaseNotFoundError),
        (lambda s: s.lease_keepalive(7), ks.LeaseNotFoundError),
        (lambda s: s.compact(-1), ks.InvalidArgumentError),
        (lambda s: s.compact(50), ks.FutureRevisionError),
        (lambda s: s.txn([], [ks.Op.put(b"k%d" % i) for i in range(129)], []), ks.TooManyOpsError),
        (lambda s: s.txn([], [ks.Op.put(b"k"), ks.Op.put(b"k")], []), ks.DuplicateKeyError),
        (lambda s: ks.Compare(b"k", "mod", "~", 1), ks.InvalidArgumentError),
        (lambda s: ks.Compare(b"k", "value", "=", 1), ks.InvalidArgumentError),
    ],
)
def test_bad_input_raises_typed_errors_and_changes_nothing(call, exc) -> None:  # type: ignore[no-untyped-def]
    with ks.Store() as s:
        s.put(b"a", b"1")
        with pytest.raises(exc) as info:
            call(s)
        assert isinstance(info.value, ks.StoreError)
        assert str(info.value)
        assert s.revision == 2 and s.get(b"a").value == b"1"  # type: ignore[union-attr]


def test_invalid_argument_is_also_a_value_error() -> None:
    assert issubclass(ks.InvalidArgumentError, ValueError)
    assert issubclass(ks.CompactedError, ks.StoreError)


def test_txn_kubernetes_style_optimistic_update() -> None:
    with ks.Store() as s:
        key = b"/registry/pods/ns/p"
        created = s.txn(
            [ks.Compare(key, "mod", "=", 0)], [ks.Op.put(key, b"v1")], [ks.Op.range(key)]
        )
        assert created.succeeded
        rv = created.revision
        stale = s.txn(
            [ks.Compare(key, "mod", "=", rv - 1)], [ks.Op.put(key, b"x")], [ks.Op.range(key)]
        )
        assert not stale.succeeded
        current = stale.responses[0]
        assert isinstance(current, ks.RangeResponse) and current.kvs[0].mod_revision == rv
        ok = s.txn([ks.Compare(key, "mod", "=", rv)], [ks.Op.put(key, b"v2")], [])
        assert ok.succeeded and ok.revision == rv + 1


def test_watch_blocking_iteration_and_cancel() -> None:
    with ks.Store() as s:
        w = s.watch(b"/a/", ks.prefix_end(b"/a/"), prev_kv=True)

        def writer() -> None:
            s.put(b"/a/1", b"x")
            s.put(b"/a/1", b"y")
            s.put(b"/b/1", b"ignored")
            s.delete_range(b"/a/1")

        threading.Thread(target=writer).start()
        seen: list[tuple[str, bytes, bytes | None]] = []
        for resp in w:
            for e in resp.events:
                seen.append((e.type, e.kv.value, e.prev_kv.value if e.prev_kv else None))
            if len(seen) == 3:
                w.cancel()
        assert seen == [("PUT", b"x", None), ("PUT", b"y", b"x"), ("DELETE", b"", b"y")]


async def test_watch_async_iteration_uses_the_event_loop() -> None:
    with ks.Store() as s:
        w = s.watch(b"k", start_revision=1)
        s.put(b"k", b"1")

        async def produce() -> None:
            for i in range(2, 5):
                await asyncio.sleep(0.01)
                s.put(b"k", str(i).encode())

        task = asyncio.create_task(produce())
        values: list[bytes] = []
        async for resp in w:
            values.extend(e.kv.value for e in resp.events)
            if len(values) >= 4:
                break
        await task
        assert values == [b"1", b"2", b"3", b"4"]
        w.close()


def test_watch_from_compacted_revision_is_canceled() -> None:
    with ks.Store() as s:
        for i in range(5):
            s.put(b"k", b"%d" % i)
        s.compact(4)
        w = s.watch(b"k", start_revision=2)
        responses = list(w)
        assert responses[-1].canceled and responses[-1].compact_revision == 4


def test_many_watches_on_one_stream() -> None:
    with ks.Store() as s:
        stream = s.watch_stream()
        ids = [stream.watch(b"node-%d" % i) for i in range(500)]
        assert len(set(ids)) == 500
        s.put_many([(b"node-%d" % i, b"ready") for i in range(500)])
        got: dict[int, int] = {}
        while sum(got.values()) < 500:
            for r in stream.poll(timeout=1.0):
                if r.events:
                    got[r.watch_id] = got.get(r.watch_id, 0) + len(r.events)
        assert got == dict.fromkeys(ids, 1)
        stream.close()
        assert stream.closed


def test_leases_with_manual_clock() -> None:
    with ks.Store(manual_clock=True) as s:
        lease = s.lease_grant(10)
        assert lease.id > 0 and lease.ttl == 10
        s.put(b"/registry/events/e1", b"x", lease=lease.id)
        ttl = s.lease_time_to_live(lease.id, keys=True)
        assert (ttl.ttl, ttl.granted_ttl, ttl.keys) == (10, 10, [b"/registry/events/e1"])
        assert s.advance_clock(9.5) == []
        assert s.advance_clock(1) == [lease.id]
        assert s.get(b"/registry/events/e1") is None
        assert s.lease_time_to_live(lease.id).ttl == -1
        assert s.leases() == []


def test_advance_clock_needs_manual_clock() -> None:
    with ks.Store() as s, pytest.raises(ks.InvalidArgumentError):
        s.advance_clock(1)


def test_durable_restart_and_snapshot_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ks.Store(data) as s:
        s.put_many([(b"k%03d" % i, b"v%d" % i) for i in range(50)])
        s.compact(10)
        rev = s.revision
        s.snapshot_save(tmp_path / "backup.db")
    with ks.Store(data) as s:
        assert (s.revision, s.compact_revision) == (rev, 10)
        assert s.range(b"k", b"l", count_only=True).count == 50
    assert (tmp_path / "backup.db").stat().st_size % 512 == 32
    assert ks.restore(tmp_path / "backup.db", tmp_path / "restored") == rev
    with ks.Store(tmp_path / "restored") as s:
        assert s.get(b"k049").value == b"v49"  # type: ignore[union-attr]
    with pytest.raises(ks.InvalidArgumentError):
        ks.restore(tmp_path / "backup.db", data)


def test_quota_nospace_alarm() -> None:
    with ks.Store(quota_bytes=64 * 1024) as s:
        with pytest.raises(ks.NoSpaceError):
            for i in range(1000):
                s.put(b"k%d" % i, b"x" * 1024)
        assert s.alarms() == ["NOSPACE"] and s.status().alarms == ["NOSPACE"]
        assert s.range(b"k", b"l", count_only=True).count > 0
        s.delete_range(b"k", b"l")
        s.compact(s.revision)
        s.alarm_disarm()
        s.put(b"again", b"ok")


def test_closed_store_refuses_work() -> None:
    s = ks.Store()
    s.close()
    s.close()
    with pytest.raises(ks.StoreClosedError):
        s.put(b"k", b"v")


def test_prefix_end() -> None:
    assert ks.prefix_end(b"/registry/pods/") == b"/registry/pods0"
    assert ks.prefix_end(b"a\xff") == b"b"
    assert ks.prefix_end(b"\xff\xff") == b"\x00"
