"""Differential tests: the Rust store (kubemu.store.Store) against the Python reference model.

A hypothesis state machine runs random operation sequences against both and requires the
same results field by field, or the same exception class. Keys come from a tiny alphabet so
that collisions, overwrites, deletes and duplicate-key txns happen all the time. Leases are
granted with explicit ids and only expire when a rule advances both (manual) clocks.

Examples per test: KUBEMU_DIFF_EXAMPLES (default 200 in memory, 100 durable); steps per
example: KUBEMU_DIFF_STEPS (default 50). Reproduce a failure with the seed hypothesis
prints (``--hypothesis-seed=N``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from functools import partial
from types import SimpleNamespace
from typing import Any, ClassVar

import kubemu._core as core
import kubemu.store as kstore
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from . import reference
from .reference import ReferenceStore

MAX_TXN_OPS = 6
MAX_REQUEST_BYTES = 1024
STORE_OPTS: dict[str, Any] = dict(
    manual_clock=True, max_txn_ops=MAX_TXN_OPS, max_request_bytes=MAX_REQUEST_BYTES, fsync=False
)
MODEL = SimpleNamespace(Op=reference.Op, Compare=reference.Compare)
REAL = SimpleNamespace(
    Op=getattr(kstore, "Op", core.Op), Compare=getattr(kstore, "Compare", core.Compare)
)

KEYS = [b"a", b"ab", b"b", b"c/1", b"c/2", b"c/3"]
BOUNDS = [*KEYS, b"c", b"c0", b"d", b"\x00"]  # extra range ends
LEASE_IDS = [1, 2, 3, 7]

keys = st.sampled_from(KEYS)
values = st.sampled_from([b"", b"x", b"y", b"zz", b"\x00\xff"])
leases = st.sampled_from([0, 0, 0, *LEASE_IDS])
small_revs = st.one_of(st.just(0), st.integers(0, 14))


@st.composite
def key_ranges(draw: st.DrawFn, invalid: bool = False) -> tuple[bytes, bytes | None]:
    """(key, range_end): single key, prefix, from-key or explicit; maybe invalid."""
    kind = draw(st.sampled_from(["single", "single", "prefix", "from", "explicit"]))
    if invalid and draw(st.integers(0, 9)) == 0:
        bad = [(b"", None), (b"b", b"b"), (b"c/2", b"a"), (b"", b"\x00")]
        return draw(st.sampled_from(bad))
    if kind == "single":
        return draw(keys), None
    if kind == "prefix":
        p = draw(st.sampled_from([b"a", b"b", b"c", b"c/"]))
        return p, kstore.prefix_end(p)
    if kind == "from":
        return draw(keys), b"\x00"
    lo, hi = sorted(
        draw(st.lists(st.sampled_from(BOUNDS[:-1]), min_size=2, max_size=2, unique=True))
    )
    return lo, hi


range_kwargs = st.fixed_dictionaries(
    {},
    optional={
        "limit": st.integers(0, 3),
        "sort_order": st.sampled_from(["none", "ascend", "descend"]),
        "sort_target": st.sampled_from(["key", "version", "create", "mod", "value"]),
        "keys_only": st.booleans(),
        "count_only": st.booleans(),
        "min_mod_revision": small_revs,
        "max_mod_revision": small_revs,
        "min_create_revision": small_revs,
        "max_create_revision": small_revs,
    },
)


@st.composite
def put_specs(draw: st.DrawFn) -> tuple[Any, ...]:
    key, value, lease = draw(keys), draw(values), draw(leases)
    kw: dict[str, Any] = {"lease": lease, "prev_kv": draw(st.booleans())}
    if draw(st.integers(0, 5)) == 0:
        kw["ignore_value"] = True
        value = b""
    if draw(st.integers(0, 5)) == 0:
        kw["ignore_lease"] = True
        kw["lease"] = 0
    return ("put", key, value, kw)


@st.composite
def range_specs(draw: st.DrawFn) -> tuple[Any, ...]:
    key, end = draw(key_ranges())
    kw = draw(range_kwargs)
    if draw(st.integers(0, 3)) == 0:
        kw["revision"] = draw(small_revs)
    return ("range", key, end, kw)


delete_specs = st.builds(
    lambda kr, p: ("delete", kr[0], kr[1], {"prev_kv": p}), key_ranges(), st.booleans()
)


@st.composite
def compare_specs(draw: st.DrawFn) -> tuple[Any, ...]:
    key, end = draw(st.one_of(key_ranges(), key_ranges().map(lambda kr: (kr[0], None))))
    target = draw(st.sampled_from(["version", "create", "mod", "value", "lease"]))
    result = draw(st.sampled_from(["=", "==", "!=", ">", "<"]))
    if target == "value":
        value: int | bytes = draw(values)
    elif target == "lease":
        value = draw(leases)
    else:
        value = draw(st.integers(0, 8))
    return (key, target, result, value, end)


def txn_specs(depth: int, top: bool = True) -> st.SearchStrategy[tuple[Any, ...]]:
    """Txns nested ``depth`` deep; now and then the top level is over MAX_TXN_OPS."""
    simple = st.one_of(put_specs(), range_specs(), delete_specs)
    ops = simple if depth == 0 else st.one_of(simple, simple, txn_specs(depth - 1, False))
    branch = st.lists(ops, max_size=3 if top else 2)
    if top:
        big = st.lists(simple, min_size=MAX_TXN_OPS + 1, max_size=MAX_TXN_OPS + 1)
        branch = st.integers(0, 15).flatmap(lambda i, b=branch: big if i == 0 else b)
    return st.builds(
        lambda c, s, f: ("txn", c, s, f),
        st.lists(compare_specs(), max_size=3 if top else 2),
        branch,
        branch,
    )


def build(spec: tuple[Any, ...], ns: SimpleNamespace) -> Any:
    """Build an Op for ``ns`` (the model's or the store's Op and Compare) from a spec."""
    kind = spec[0]
    if kind == "put":
        return ns.Op.put(spec[1], spec[2], **spec[3])
    if kind == "range":
        return ns.Op.range(spec[1], spec[2], **spec[3])
    if kind == "delete":
        return ns.Op.delete(spec[1], spec[2], **spec[3])
    return ns.Op.txn(*build_txn(spec, ns))


def build_txn(spec: tuple[Any, ...], ns: SimpleNamespace) -> tuple[list[Any], ...]:
    _, compares, success, failure = spec
    return (
        [ns.Compare(*c) for c in compares],
        [build(o, ns) for o in success],
        [build(o, ns) for o in failure],
    )


FIELDS = {
    "KeyValue": ("key", "value", "create_revision", "mod_revision", "version", "lease"),
    "Event": ("type", "kv", "prev_kv"),
    "PutResponse": ("revision", "prev_kv"),
    "RangeResponse": ("revision", "kvs", "more", "count"),
    "DeleteRangeResponse": ("revision", "deleted", "prev_kvs"),
    "TxnResponse": ("revision", "succeeded", "responses"),
    "LeaseGrant": ("id", "ttl", "revision"),
    "LeaseTimeToLive": ("id", "ttl", "granted_ttl", "keys"),
}


def norm(x: Any) -> Any:
    """A comparable plain-data form of a result of either implementation."""
    if x is None or isinstance(x, bool | int | bytes | str | float):
        return x
    if isinstance(x, list | tuple):
        return [norm(i) for i in x]
    name = type(x).__name__
    if name not in FIELDS:
        raise TypeError(f"unexpected result type {type(x)!r}: {x!r}")
    return (name, tuple((f, norm(getattr(x, f))) for f in FIELDS[name]))


def outcome(fn: Any) -> tuple[str, Any]:
    try:
        return ("ok", norm(fn()))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # pyo3 panics are BaseExceptions
        return ("raised", type(e).__name__)


class StoreMachine(RuleBasedStateMachine):
    durable = False
    opts: ClassVar[dict[str, Any]] = STORE_OPTS

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="kubemu-diff-") if self.durable else None
        self.store = kstore.Store(self.dir, **self.opts)
        self.model = ReferenceStore(max_txn_ops=MAX_TXN_OPS, max_request_bytes=MAX_REQUEST_BYTES)
        self.diverged = False  # after a mismatch, teardown skips the (slow) watch checks
        self.open_stream(1)  # etcd's "all keys" watch, opened before anything is written

    def open_stream(self, start: int) -> None:
        """A new watch stream with an all-keys watch from ``start``."""
        self.stream = self.store.watch_stream()
        self.watches: dict[int, Watch] = {}
        self.open_watch(b"\x00", b"\x00", start, True, ())

    def open_watch(
        self, key: bytes, end: bytes | None, start: int, prev_kv: bool, filters: tuple[str, ...]
    ) -> None:
        wid = self.stream.watch(key, end, start_revision=start, prev_kv=prev_kv, filters=filters)
        assert wid not in self.watches, f"watch id {wid} reused"
        first = start or self.model.revision + 1
        self.watches[wid] = Watch(key, end, first, prev_kv, filters, self.model.compact_revision)

    def same(self, what: str, real: Any, model: Any) -> Any:
        got, want = outcome(real), outcome(model)
        self.diverged = got != want
        assert got == want, f"{what}:\n  store: {got}\n  model: {want}"
        return got

    # ---- KV --------------------------------------------------------------------------------
    @rule(spec=put_specs(), bad=st.sampled_from([None] * 8 + ["empty", "value", "lease"]))
    def put(self, spec: tuple[Any, ...], bad: str | None) -> None:
        _, key, value, kw = spec
        if bad == "empty":
            key = b""
        elif bad == "value":
            kw = {**kw, "ignore_value": True}
            value = b"v"
        elif bad == "lease":
            kw = {**kw, "ignore_lease": True, "lease": 1}
        self.same(
            f"put({key!r}, {value!r}, **{kw})",
            lambda: self.store.put(key, value, **kw),
            lambda: self.model.put(key, value, **kw),
        )

    @rule(key=keys, delta=st.sampled_from([-1, 0, 1]))
    def put_large(self, key: bytes, delta: int) -> None:
        value = b"v" * (MAX_REQUEST_BYTES - len(key) + delta)
        self.same(
            f"put({key!r}, <{len(value)} bytes>)",
            lambda: self.store.put(key, value),
            lambda: self.model.put(key, value),
        )

    @rule(k1=keys, k2=keys, over=st.booleans())
    def txn_large(self, k1: bytes, k2: bytes, over: bool) -> None:
        """Two puts, each small enough alone, together over (or at) max_request_bytes."""
        half = MAX_REQUEST_BYTES // 2
        spec = ("txn", [], [("put", k1, b"v" * (half - len(k1) + over), {})], [])
        if k1 != k2:
            spec[2].append(("put", k2, b"w" * (half - len(k2)), {}))
        self.same(
            f"txn(puts of {k1!r} and {k2!r}, {'over' if over else 'at'} the limit)",
            lambda: self.store.txn(*build_txn(spec, REAL)),
            lambda: self.model.txn(*build_txn(spec, MODEL)),
        )

    @rule(
        items=st.lists(st.tuples(keys, values), max_size=4),
        lease=leases,
        empty=st.sampled_from([False] * 9 + [True]),
    )
    def put_many(self, items: list[tuple[bytes, bytes]], lease: int, empty: bool) -> None:
        if empty:
            items = [*items, (b"", b"v")]
        self.same(
            f"put_many({items}, lease={lease})",
            lambda: self.store.put_many(items, lease=lease),
            lambda: self.model.put_many(items, lease=lease),
        )

    @rule(data=st.data(), kr=key_ranges(invalid=True), kw=range_kwargs)
    def range(
        self, data: st.DataObject, kr: tuple[bytes, bytes | None], kw: dict[str, Any]
    ) -> None:
        key, end = kr
        kw = dict(kw)
        if data.draw(st.booleans()):
            cur = self.model.revision
            kw["revision"] = data.draw(st.one_of(st.integers(0, cur + 2), st.just(cur)))
        if data.draw(st.integers(0, 19)) == 0:
            kw[data.draw(st.sampled_from(["revision", "limit"]))] = -1
        self.same(
            f"range({key!r}, {end!r}, **{kw})",
            lambda: self.store.range(key, end, **kw),
            lambda: self.model.range(key, end, **kw),
        )

    @rule(kr=key_ranges(), prev_kv=st.booleans())
    def delete_range(self, kr: tuple[bytes, bytes | None], prev_kv: bool) -> None:
        key, end = kr
        self.same(
            f"delete_range({key!r}, {end!r}, prev_kv={prev_kv})",
            lambda: self.store.delete_range(key, end, prev_kv=prev_kv),
            lambda: self.model.delete_range(key, end, prev_kv=prev_kv),
        )

    @rule(spec=st.one_of(txn_specs(1), txn_specs(1), txn_specs(2)))
    def txn(self, spec: tuple[Any, ...]) -> None:
        self.same(
            f"txn{spec[1:]}",
            lambda: self.store.txn(*build_txn(spec, REAL)),
            lambda: self.model.txn(*build_txn(spec, MODEL)),
        )

    @rule(data=st.data())
    def compact(self, data: st.DataObject) -> None:
        rev = data.draw(st.integers(1, self.model.revision + 1), label="revision")
        self.same(
            f"compact({rev})", lambda: self.store.compact(rev), lambda: self.model.compact(rev)
        )

    # ---- leases ----------------------------------------------------------------------------
    @rule(id=st.sampled_from(LEASE_IDS), ttl=st.sampled_from([0, 1, 2, 3, 5, 10, 30]))
    def lease_grant(self, id: int, ttl: int) -> None:
        self.same(
            f"lease_grant({ttl}, {id})",
            lambda: self.store.lease_grant(ttl, id),
            lambda: self.model.lease_grant(ttl, id),
        )

    @rule(ttl=st.sampled_from([1, 5, 30]))
    def lease_grant_auto(self, ttl: int) -> None:
        """id 0: the store picks a fresh positive id; the model is then told that id."""
        grant = self.store.lease_grant(ttl, 0)
        assert grant.id > 0 and grant.id not in self.model.leases(), f"picked {grant.id}"
        self.same(
            f"lease_grant({ttl}, 0) -> {grant.id}",
            lambda: grant,
            lambda: self.model.lease_grant(ttl, grant.id),
        )

    @rule(id=st.sampled_from([0, *LEASE_IDS]))
    def lease_revoke(self, id: int) -> None:
        self.same(
            f"lease_revoke({id})",
            lambda: self.store.lease_revoke(id),
            lambda: self.model.lease_revoke(id),
        )

    @rule(id=st.sampled_from(LEASE_IDS))
    def lease_keepalive(self, id: int) -> None:
        self.same(
            f"lease_keepalive({id})",
            lambda: self.store.lease_keepalive(id),
            lambda: self.model.lease_keepalive(id),
        )

    @rule(id=st.sampled_from(LEASE_IDS), with_keys=st.booleans())
    def lease_time_to_live(self, id: int, with_keys: bool) -> None:
        self.same(
            f"lease_time_to_live({id}, {with_keys})",
            lambda: self.store.lease_time_to_live(id, with_keys),
            lambda: self.model.lease_time_to_live(id, with_keys),
        )

    @rule(seconds=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 5.0]))
    def advance_clock(self, seconds: float) -> None:
        self.same(
            f"advance_clock({seconds})",
            lambda: self.store.advance_clock(seconds),
            lambda: self.model.advance_clock(seconds),
        )

    # ---- invariants ------------------------------------------------------------------------
    @invariant()
    def same_state(self) -> None:
        self.same("revision", lambda: self.store.revision, lambda: self.model.revision)
        self.same(
            "compact_revision",
            lambda: self.store.compact_revision,
            lambda: self.model.compact_revision,
        )
        self.same("leases()", self.store.leases, self.model.leases)
        self.same(
            "range(all)",
            lambda: self.store.range(b"\x00", b"\x00"),
            lambda: self.model.range(b"\x00", b"\x00"),
        )

    # ---- watches ---------------------------------------------------------------------------
    @rule(
        data=st.data(),
        kr=key_ranges(),
        prev_kv=st.booleans(),
        filters=st.sampled_from([(), (), ("noput",), ("nodelete",)]),
    )
    def watch(
        self,
        data: st.DataObject,
        kr: tuple[bytes, bytes | None],
        prev_kv: bool,
        filters: tuple[str, ...],
    ) -> None:
        if len(self.watches) < 8:
            start = data.draw(st.integers(0, self.model.revision + 2), label="start_revision")
            if prev_kv and start == self.model.compact_revision:
                start += 1  # the events at the compact revision lost their prev_kv
            self.open_watch(kr[0], kr[1], start, prev_kv, filters)

    @rule()
    def poll(self) -> None:
        self.drain(0.0)

    def drain(self, timeout: float) -> None:
        for r in self.stream.poll(timeout=timeout):
            assert r.watch_id in self.watches, f"response for unknown watch {r.watch_id}"
            self.watches[r.watch_id].add(r)

    def check_watches(self) -> None:
        """Every watch got exactly the events the model's history implies."""
        want = {wid: w.expected(self.model) for wid, w in self.watches.items()}
        c = self.model.compact_revision
        quiet_until = time.monotonic() + 2.0  # give up after 2 s without a response
        while time.monotonic() < quiet_until:
            waiting = any(w.missing(want[i], c) for i, w in self.watches.items())
            n = sum(len(w.responses) for w in self.watches.values())
            self.drain(0.05 if waiting else 0.0)
            if not waiting:
                break
            if sum(len(w.responses) for w in self.watches.values()) > n:
                quiet_until = time.monotonic() + 2.0
        for wid, w in self.watches.items():
            w.check(wid, want[wid], self.model.compact_revision)

    def teardown(self) -> None:
        try:
            if not self.diverged:
                self.check_watches()
                # A watch from just after the compact revision replays the whole history,
                # and one from below it is canceled.
                c = self.model.compact_revision
                self.stream.close()
                self.open_stream(c + 1)
                if c >= 2:
                    self.open_watch(b"\x00", b"\x00", c - 1, True, ())
                self.check_watches()
        finally:
            self.store.close()
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Watch:
    """One watch of the machine's stream: what was asked, and what has arrived."""

    key: bytes
    end: bytes | None
    start: int  # the first revision it reports (start_revision, or current + 1 for 0)
    prev_kv: bool
    filters: tuple[str, ...]
    compacted_at_open: int
    responses: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    canceled: Any = None

    def add(self, r: Any) -> None:
        assert self.canceled is None, "a response after the cancel"
        self.responses.append(r)
        if r.canceled:
            self.canceled = r
        elif not (r.created or r.is_progress_notify):
            self.events.extend((e.kv.mod_revision, norm(e)) for e in r.events)

    def expected(self, model: ReferenceStore) -> list[tuple[int, Any]]:
        return [
            (ev.kv.mod_revision, norm(ev if self.prev_kv else replace(ev, prev_kv=None)))
            for ev in model.events(self.start)
            if reference.in_range(ev.kv.key, self.key, self.end)
            and not ("noput" in self.filters and ev.type == "PUT")
            and not ("nodelete" in self.filters and ev.type == "DELETE")
        ]

    def missing(self, want: list[tuple[int, Any]], compacted: int) -> bool:
        """Events above the compact revision are still to come."""
        tail = [e for e in self.events if e[0] > compacted]
        return self.canceled is None and len(tail) < sum(1 for e in want if e[0] > compacted)

    def check(self, wid: int, want: list[tuple[int, Any]], compacted: int) -> None:
        what = f"watch {wid} ({self.key!r}, {self.end!r}, from {self.start}, {self.filters})"
        assert self.responses and self.responses[0].created, f"{what}: no created response"
        if self.canceled is None:
            assert not 0 < self.start < self.compacted_at_open, f"{what}: not canceled"
        else:
            # Canceled by a compaction, when it opened or (unsynced) later: a prefix arrived.
            c = self.canceled.compact_revision
            assert self.start < c <= compacted, f"{what}: canceled with compact_revision {c}"
        # Like etcd, a watch that had not caught up when its start revision was compacted
        # away may miss the events at revisions <= the compact revision that compaction
        # dropped (tombstones, overwritten versions) and their prev_kv. Those that arrive
        # must be right; every event above the compact revision must arrive, exactly.
        got_head = [e[1] for e in self.events if e[0] <= compacted]
        want_head = [e[1] for e in want if e[0] <= compacted]
        if got_head != want_head:
            rest = iter(want_head)
            for e in got_head:
                assert any(e in (w, without_prev_kv(w)) for w in rest), (
                    f"{what}: event {e} at or below the compact revision {compacted} "
                    f"is not one of the model's {want_head}"
                )
        got = [e[1] for e in self.events if e[0] > compacted]
        want_tail = [e[1] for e in want if e[0] > compacted]
        if self.canceled is not None:
            want_tail = want_tail[: len(got)]
        assert len(got) == len(want_tail), f"{what}: {len(got)} events, not {len(want_tail)}"
        for i, (g, w) in enumerate(zip(got, want_tail, strict=True)):
            assert g == w, f"{what} event {i} above {compacted}:\n  store: {g}\n  model: {w}"


def without_prev_kv(event: Any) -> Any:
    """A normalized Event with prev_kv None."""
    name, fields = event
    return (name, tuple((f, None if f == "prev_kv" else v) for f, v in fields))


class DurableStoreMachine(StoreMachine):
    durable = True
    # Tiny WAL segments: restarts recover from snapshots plus a WAL tail, not just a WAL.
    opts: ClassVar[dict[str, Any]] = {**STORE_OPTS, "snapshot_wal_bytes": 2048}

    @rule()
    def restart(self) -> None:
        """Close and reopen the data dir: everything acknowledged must still be there."""
        self.check_watches()
        self.stream.close()
        self.store.close()
        self.store = kstore.Store(self.dir, **self.opts)
        self.model.restart()
        self.open_stream(self.model.compact_revision + 1)
        self.same_state()
        for rev in range(max(self.model.compact_revision, 1), self.model.revision + 1):
            self.same(
                f"range(all, revision={rev}) after restart",
                partial(self.store.range, b"\x00", b"\x00", revision=rev),
                partial(self.model.range, b"\x00", b"\x00", revision=rev),
            )
        for id in LEASE_IDS:
            self.same(
                f"lease_time_to_live({id}, True) after restart",
                partial(self.store.lease_time_to_live, id, True),
                partial(self.model.lease_time_to_live, id, True),
            )


def _settings(examples: int) -> settings:
    return settings(
        max_examples=int(os.environ.get("KUBEMU_DIFF_EXAMPLES", examples)),
        stateful_step_count=int(os.environ.get("KUBEMU_DIFF_STEPS", 50)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


TestInMemoryStore = StoreMachine.TestCase
TestInMemoryStore.settings = _settings(200)
TestDurableStore = DurableStoreMachine.TestCase
TestDurableStore.settings = _settings(100)


def test_kubernetes_patterns(store_factory: Any) -> None:
    """A fixed script of the apiserver's store calls, checked step by step against the model."""
    store = store_factory()
    model = ReferenceStore()

    def both(method: str, *args: Any, **kwargs: Any) -> Any:
        got = outcome(lambda: getattr(store, method)(*args, **kwargs))
        want = outcome(lambda: getattr(model, method)(*args, **kwargs))
        assert got == want, f"{method}{args} {kwargs}:\n  store: {got}\n  model: {want}"
        return got

    def txn(compares: list[Any], success: list[Any], failure: list[Any]) -> Any:
        spec = ("txn", compares, success, failure)
        got = outcome(lambda: store.txn(*build_txn(spec, REAL)))
        want = outcome(lambda: model.txn(*build_txn(spec, MODEL)))
        assert got == want, f"txn{spec[1:]}:\n  store: {got}\n  model: {want}"

    pods = [b"/registry/pods/default/p%d" % i for i in range(5)]
    both("lease_grant", 10, 42)
    for i, key in enumerate(pods):  # create: If mod_revision(key) == 0 Then Put
        txn([(key, "mod", "=", 0, None)], [("put", key, b"v1", {"lease": 42 * (i % 2)})], [])
    txn([(pods[0], "mod", "=", 0, None)], [("put", pods[0], b"again", {})], [])
    # update: If mod_revision == orig Then Put Else Get
    txn(
        [(pods[1], "mod", "=", 3, None)],
        [("put", pods[1], b"v2", {})],
        [("range", pods[1], None, {})],
    )
    txn(
        [(pods[1], "mod", "=", 3, None)],
        [("put", pods[1], b"v3", {})],
        [("range", pods[1], None, {})],
    )
    prefix, end = b"/registry/pods/", b"/registry/pods0"
    both("range", prefix, end, limit=2)  # paginated list, then its continuation
    both("range", pods[1] + b"\x00", end, limit=2, revision=8)
    both("range", prefix, end, count_only=True)
    txn([], [("range", pods[2], None, {}), ("delete", pods[2], None, {"prev_kv": True})], [])
    both("compact", 5)
    both("range", prefix, end, revision=4)
    both("range", prefix, end, revision=5, sort_order="descend", sort_target="mod")
    both("lease_time_to_live", 42, True)
    both("advance_clock", 9.5)
    both("lease_keepalive", 42)
    both("advance_clock", 9.5)
    both("advance_clock", 0.5)
    both("range", prefix, end)
    if store_factory.durable:
        store.close()
        store = store_factory()
        model.restart()
    both("range", prefix, end, revision=6)
    for method in ("put", "delete_range"):
        both(method, *((pods[4], b"v9") if method == "put" else (prefix, end)), prev_kv=True)
    assert (store.revision, store.compact_revision) == (model.revision, model.compact_revision)
    stream = store.watch_stream()
    try:
        stream.watch(b"\x00", b"\x00", start_revision=6, prev_kv=True)
        events: list[Any] = []
        want = [norm(e) for e in model.events(6)]
        deadline = time.monotonic() + 5.0
        while len(events) < len(want) and time.monotonic() < deadline:
            for r in stream.poll(timeout=0.05):
                assert not r.canceled, r.cancel_reason
                if not (r.created or r.is_progress_notify):
                    events.extend(norm(e) for e in r.events)
        assert events == want
    finally:
        stream.close()
