"""Checks of the reference model itself against hand-computed etcd facts.

These need no compiled extension: the model must be right on its own before it can judge
the Rust store in test_differential.py.
"""

from __future__ import annotations

from .reference import Compare, Event, KeyValue, Op, ReferenceStore


class raises:
    """Expect the store error class called ``name`` (kubemu._core's or the stand-in)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, tp: type[BaseException] | None, exc: object, tb: object) -> bool:
        assert tp is not None, f"{self.name} not raised"
        assert tp.__name__ == self.name, f"raised {tp.__name__}, expected {self.name}"
        return True


def test_empty_store_starts_at_revision_1() -> None:
    s = ReferenceStore()
    assert s.revision == 1
    assert s.compact_revision == 0
    r = s.range(b"a", b"\x00")
    assert (r.revision, r.kvs, r.more, r.count) == (1, [], False, 0)


def test_put_twice_keeps_create_revision_and_bumps_version() -> None:
    s = ReferenceStore()
    assert s.put(b"a", b"1").revision == 2
    r = s.put(b"a", b"2", prev_kv=True)
    assert r.revision == 3
    assert r.prev_kv == KeyValue(b"a", b"1", 2, 2, 1, 0)
    assert s.range(b"a").kvs == [KeyValue(b"a", b"2", 2, 3, 2, 0)]
    # The past is still readable.
    assert s.range(b"a", revision=2).kvs == [KeyValue(b"a", b"1", 2, 2, 1, 0)]
    assert s.range(b"a", revision=2).revision == 3


def test_delete_then_put_is_a_new_generation() -> None:
    s = ReferenceStore()
    s.put(b"a", b"1")
    s.put(b"a", b"2")
    d = s.delete_range(b"a", prev_kv=True)
    assert (d.revision, d.deleted) == (4, 1)
    assert d.prev_kvs == [KeyValue(b"a", b"2", 2, 3, 2, 0)]
    assert s.put(b"a", b"3", prev_kv=True).prev_kv is None
    assert s.range(b"a").kvs == [KeyValue(b"a", b"3", 5, 5, 1, 0)]
    assert s.range(b"a", revision=4).kvs == []


def test_noop_writes_do_not_bump_the_revision() -> None:
    s = ReferenceStore()
    s.put(b"a", b"1")
    d = s.delete_range(b"b")
    assert (d.revision, d.deleted, s.revision) == (2, 0, 2)
    t = s.txn([Compare(b"a", "value", "=", b"nope")], [Op.put(b"b", b"x")], [Op.range(b"a")])
    assert (t.revision, t.succeeded, s.revision) == (2, False, 2)


def test_delete_range_is_one_revision_with_sub_revisions_in_key_order() -> None:
    s = ReferenceStore()
    for k in (b"c/2", b"c/1", b"b"):
        s.put(k, b"v")
    d = s.delete_range(b"c/", b"c0")
    assert (d.revision, d.deleted) == (5, 2)
    assert [(c.main, c.sub, c.key, c.value) for c in s.history[-2:]] == [
        (5, 0, b"c/1", None),
        (5, 1, b"c/2", None),
    ]


def test_txn_compare_on_absent_key() -> None:
    s = ReferenceStore()
    ok = s.txn([Compare(b"a", "mod", "==", 0)], [Op.put(b"a", b"v")], [])
    assert ok.succeeded and ok.revision == 2
    s.delete_range(b"a")
    # Absent: value compare always fails, even "!=".
    t = s.txn([Compare(b"a", "value", "!=", b"x")], [], [Op.range(b"a")])
    assert not t.succeeded
    assert s.txn([Compare(b"a", "version", "=", 0), Compare(b"a", "lease", "=", 0)]).succeeded


def test_txn_range_sees_own_writes_in_one_revision() -> None:
    s = ReferenceStore()
    s.put(b"a", b"0")
    t = s.txn(
        [Compare(b"a", "version", ">", 0)],
        [Op.range(b"a"), Op.put(b"a", b"1"), Op.put(b"b", b"2"), Op.range(b"a", b"\x00")],
        [],
    )
    assert t.succeeded and t.revision == 3 == s.revision
    r0, p1, p2, r3 = t.responses
    assert r0.revision == 2 and r0.kvs[0].value == b"0"
    assert p1.revision == p2.revision == 3
    assert r3.revision == 3
    assert [(kv.key, kv.value, kv.mod_revision) for kv in r3.kvs] == [
        (b"a", b"1", 3),
        (b"b", b"2", 3),
    ]
    assert [(c.main, c.sub) for c in s.history] == [(2, 0), (3, 0), (3, 1)]


def test_txn_compare_over_a_range_requires_every_key() -> None:
    s = ReferenceStore()
    s.put(b"c/1", b"x")
    s.put(b"c/2", b"y")
    assert s.txn([Compare(b"c/", "value", ">", b"a", b"c0")]).succeeded
    assert not s.txn([Compare(b"c/", "value", "=", b"x", b"c0")]).succeeded
    assert s.txn([Compare(b"c/", "create", "<", 4, b"c0")]).succeeded


def test_txn_duplicate_keys_and_too_many_ops() -> None:
    s = ReferenceStore(max_txn_ops=3)
    with raises("DuplicateKeyError"):
        s.txn([], [Op.put(b"a"), Op.put(b"a")], [])
    with raises("DuplicateKeyError"):
        s.txn([], [Op.delete(b"a", b"b"), Op.put(b"ab")], [])
    with raises("DuplicateKeyError"):
        s.txn([], [Op.put(b"c"), Op.txn([], [Op.put(b"c")], [])], [])
    # A from-key delete covers every key after it.
    with raises("DuplicateKeyError"):
        s.txn([], [Op.delete(b"b", b"\x00"), Op.put(b"c")], [])
    # Deletes may overlap; a nested txn's branches may both put the same key.
    s.txn([], [Op.delete(b"a", b"c"), Op.delete(b"b")], [])
    s.txn([], [Op.txn([], [Op.put(b"a")], [Op.put(b"a")])], [Op.put(b"a")])
    with raises("TooManyOpsError"):
        s.txn([], [Op.range(b"a")] * 4, [])
    with raises("TooManyOpsError"):
        s.txn([], [Op.range(b"a"), Op.txn([], [Op.range(b"a")] * 3, [])], [])
    assert s.revision == 2


def test_txn_with_missing_lease_changes_nothing() -> None:
    s = ReferenceStore()
    with raises("LeaseNotFoundError"):
        s.txn([], [Op.put(b"a", b"1"), Op.put(b"b", b"1", lease=9)], [])
    assert s.revision == 1 and s.range(b"a").kvs == []


def test_put_argument_checks() -> None:
    s = ReferenceStore(max_request_bytes=10)
    with raises("InvalidArgumentError"):
        s.put(b"", b"v")
    with raises("InvalidArgumentError"):
        s.put(b"a", b"v", ignore_value=True)
    with raises("InvalidArgumentError"):
        s.put(b"a", b"", lease=3, ignore_lease=True)
    with raises("KeyNotFoundError"):
        s.put(b"a", b"", ignore_value=True)
    with raises("LeaseNotFoundError"):
        s.put(b"a", b"v", lease=5)
    with raises("RequestTooLargeError"):
        s.put(b"a", b"0123456789")
    s.put(b"a", b"012345678")
    s.lease_grant(10, 5)
    s.put(b"a", b"", lease=5, ignore_value=True)
    s.put(b"a", b"new", ignore_lease=True)
    assert s.range(b"a").kvs == [KeyValue(b"a", b"new", 2, 4, 3, 5)]


def test_range_limit_more_count_and_filters() -> None:
    s = ReferenceStore()
    for k in (b"a", b"b", b"c", b"d"):
        s.put(k, b"v" + k)  # a@2 b@3 c@4 d@5
    s.put(b"b", b"vb2")  # b@6
    r = s.range(b"a", b"\x00", limit=2)
    assert ([kv.key for kv in r.kvs], r.more, r.count) == ([b"a", b"b"], True, 4)
    r = s.range(b"a", b"\x00", limit=4)
    assert (len(r.kvs), r.more) == (4, False)
    r = s.range(b"a", b"\x00", min_mod_revision=4, limit=1)
    assert ([kv.key for kv in r.kvs], r.more, r.count) == ([b"b"], True, 4)
    r = s.range(b"a", b"\x00", max_create_revision=3, min_create_revision=3)
    assert [kv.key for kv in r.kvs] == [b"b"]
    r = s.range(b"a", b"\x00", count_only=True, limit=1)
    assert (r.kvs, r.more, r.count) == ([], False, 4)
    r = s.range(b"a", b"c", keys_only=True)
    assert [(kv.key, kv.value) for kv in r.kvs] == [(b"a", b""), (b"b", b"")]
    assert s.range(b"b", b"c").count == 1
    assert s.range(b"a", b"\x00", revision=3).count == 2


def test_range_sorting_is_stable() -> None:
    s = ReferenceStore()
    for k in (b"a", b"b", b"c"):
        s.put(k, b"v")
    s.put(b"b", b"w")  # versions: a1 b2 c1
    keys = lambda **kw: [kv.key for kv in s.range(b"a", b"\x00", **kw).kvs]  # noqa: E731
    assert keys(sort_target="version") == [b"a", b"c", b"b"]
    assert keys(sort_target="version", sort_order="descend") == [b"b", b"a", b"c"]
    assert keys(sort_order="descend") == [b"c", b"b", b"a"]
    assert keys(sort_target="mod", sort_order="descend", limit=1) == [b"b"]
    assert keys(sort_target="value", sort_order="ascend") == [b"a", b"c", b"b"]
    assert keys(sort_target="create", sort_order="descend") == [b"c", b"b", b"a"]
    # keys_only blanks the values after sorting by them.
    s.put(b"a", b"z")
    assert keys(sort_target="value", keys_only=True) == [b"c", b"b", b"a"]
    # etcd's quirk: with sort_order "none" a limit is pushed down first (limit + 1 keys in
    # key order), then those are sorted by the target: versions a2 b2 c1.
    assert keys(sort_target="version", limit=1) == [b"a"]
    assert keys(sort_target="version", limit=2) == [b"c", b"a"]
    assert keys(sort_target="version", sort_order="ascend", limit=1) == [b"c"]


def test_range_argument_and_revision_errors() -> None:
    s = ReferenceStore()
    s.put(b"a", b"1")
    for kw in ({"range_end": b"a"}, {"revision": -1}, {"limit": -1}):
        with raises("InvalidArgumentError"):
            s.range(b"a", **kw)
    with raises("InvalidArgumentError"):
        s.range(b"")
    with raises("FutureRevisionError"):
        s.range(b"a", revision=3)


def test_compaction() -> None:
    s = ReferenceStore()
    for v in (b"1", b"2", b"3"):
        s.put(b"a", v)  # revisions 2, 3, 4
    with raises("FutureRevisionError"):
        s.compact(5)
    assert s.compact(3) == 4
    assert s.compact_revision == 3
    with raises("CompactedError"):
        s.compact(3)
    with raises("CompactedError"):
        s.range(b"a", revision=2)
    assert s.range(b"a", revision=3).kvs[0].value == b"2"
    with raises("CompactedError"):
        s.txn([], [Op.range(b"a", revision=2)], [])
    s.range(b"a", revision=4)


def test_leases_revoke_expire_and_time_to_live() -> None:
    s = ReferenceStore()
    g = s.lease_grant(1, 7)
    assert (g.id, g.ttl, g.revision) == (7, 2, 1)
    with raises("LeaseExistsError"):
        s.lease_grant(5, 7)
    s.lease_grant(10, 3)
    s.put(b"b", b"1", lease=7)
    s.put(b"a", b"1", lease=7)
    s.put(b"c", b"1", lease=3)
    s.put(b"c", b"2", lease=7)  # moves c from lease 3 to lease 7
    s.put(b"d", b"1", lease=3)
    s.put(b"d", b"2")  # detaches d
    ttl = s.lease_time_to_live(7, keys=True)
    assert (ttl.ttl, ttl.granted_ttl, ttl.keys) == (2, 2, [b"a", b"b", b"c"])
    assert s.lease_time_to_live(3, keys=True).keys == []
    assert s.lease_time_to_live(99).ttl == -1
    assert s.leases() == [3, 7]
    assert s.advance_clock(1.5) == []
    assert s.lease_time_to_live(7).ttl == 0
    assert s.lease_keepalive(7) == 2
    assert s.advance_clock(1.5) == []
    rev = s.revision
    assert s.advance_clock(0.5) == [7]
    assert s.revision == rev + 1
    assert [(c.key, c.value) for c in s.history[-3:]] == [(b"a", None), (b"b", None), (b"c", None)]
    assert s.lease_revoke(3) == rev + 1  # no keys: no new revision
    with raises("LeaseNotFoundError"):
        s.lease_revoke(3)
    with raises("LeaseNotFoundError"):
        s.lease_keepalive(7)
    assert s.leases() == []


def test_restart_resets_lease_deadlines() -> None:
    s = ReferenceStore()
    s.lease_grant(10, 1)
    s.advance_clock(9)
    s.restart()
    assert s.lease_time_to_live(1).ttl == 10
    assert s.advance_clock(9.5) == []
    assert s.advance_clock(0.5) == [1]


def test_events_carry_prev_kv_and_delete_mod_revision() -> None:
    s = ReferenceStore()
    s.put(b"a", b"1")
    s.put(b"a", b"2")
    s.delete_range(b"a")
    a1 = KeyValue(b"a", b"1", 2, 2, 1, 0)
    a2 = KeyValue(b"a", b"2", 2, 3, 2, 0)
    assert s.events() == [
        Event("PUT", a1, None),
        Event("PUT", a2, a1),
        Event("DELETE", KeyValue(b"a", b"", 0, 4, 0, 0), a2),
    ]
    assert s.events(3) == s.events()[1:]


def test_whole_txn_size_and_inner_revision_modes() -> None:
    s = ReferenceStore(max_request_bytes=10)
    with raises("RequestTooLargeError"):
        s.txn([], [Op.put(b"a", b"1234"), Op.put(b"b", b"12345")], [])  # 11 bytes
    s.txn([], [Op.put(b"a", b"1234"), Op.put(b"b", b"1234")], [])  # 10 bytes
    ops = [Op.range(b"a"), Op.txn([], [Op.put(b"c")], []), Op.range(b"a")]
    etcd = s.txn([], ops, [])
    assert [etcd.revision, *(r.revision for r in etcd.responses)] == [3, 2, 3, 3]
    s = ReferenceStore(txn_inner_revisions="txn")
    t = s.txn([], ops, [])
    assert [t.revision, *(r.revision for r in t.responses)] == [2, 2, 2, 2]
