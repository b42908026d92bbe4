"""A pure-Python reference model of ``kubemu._core.Store`` (etcd v3 MVCC semantics).

Obviously correct rather than fast: the model keeps the full list of changes and computes
every answer from it. Same method names, arguments and result shapes as the Rust store;
results are plain dataclasses with the same attribute names. Errors are the classes of
``kubemu._core`` when the extension is built, stand-ins with the same names otherwise.

Where the brief leaves room, the model follows etcd's code: a limit is pushed down before a
sort_order "none" sort by another target (executeRange); nested txn compares see the state
before the txn (compareToPath); nested TooManyOps budgets shrink (checkTxnRequest); a nested
txn may put one key in both branches (checkIntervals), where a from-key delete covers every
key from its start; inner txn responses report the revision they saw. A txn is too large when
its keys, range ends and values add up to more than max_request_bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

_ERROR_NAMES = """InvalidArgumentError CompactedError FutureRevisionError LeaseNotFoundError
    LeaseExistsError KeyNotFoundError RequestTooLargeError TooManyOpsError
    DuplicateKeyError""".split()


class StoreError(Exception):
    """Stand-in base class, used only when kubemu._core is not built."""


_FALLBACK: dict[str, type[Exception]] = {
    name: type(
        name, (StoreError, ValueError) if name == "InvalidArgumentError" else (StoreError,), {}
    )
    for name in _ERROR_NAMES
}


def error(name: str, message: str = "") -> Exception:
    """An instance of the store's error class ``name`` (kubemu._core's when importable)."""
    try:
        from kubemu import _core
    except ImportError:
        return _FALLBACK[name](message)
    cls: type[Exception] = getattr(_core, name)
    return cls(message)


@dataclass(frozen=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int


@dataclass(frozen=True)
class Event:
    type: str
    kv: KeyValue
    prev_kv: KeyValue | None


@dataclass(frozen=True)
class PutResponse:
    revision: int
    prev_kv: KeyValue | None


@dataclass(frozen=True)
class RangeResponse:
    revision: int
    kvs: list[KeyValue]
    more: bool
    count: int


@dataclass(frozen=True)
class DeleteRangeResponse:
    revision: int
    deleted: int
    prev_kvs: list[KeyValue]


@dataclass(frozen=True)
class TxnResponse:
    revision: int
    succeeded: bool
    responses: list[Any]


@dataclass(frozen=True)
class LeaseGrant:
    id: int
    ttl: int
    revision: int


@dataclass(frozen=True)
class LeaseTimeToLive:
    id: int
    ttl: int
    granted_ttl: int
    keys: list[bytes]


@dataclass(frozen=True)
class Compare:
    key: bytes
    target: str
    result: str
    value: int | bytes
    range_end: bytes | None = None


@dataclass(frozen=True)
class Op:
    """A txn operation; ``kind`` is "put", "range", "delete" or "txn"."""

    kind: str
    key: bytes = b""
    range_end: bytes | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    compare: tuple[Compare, ...] = ()
    success: tuple[Op, ...] = ()
    failure: tuple[Op, ...] = ()

    @staticmethod
    def put(key: bytes, value: bytes = b"", **kwargs: Any) -> Op:
        kw = {"lease": 0, "prev_kv": False, "ignore_value": False, "ignore_lease": False}
        return Op("put", key, None, {**kw, "value": value, **kwargs})

    @staticmethod
    def range(key: bytes, range_end: bytes | None = None, **kwargs: Any) -> Op:
        return Op("range", key, range_end, {"revision": 0, "limit": 0, **kwargs})

    @staticmethod
    def delete(key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False) -> Op:
        return Op("delete", key, range_end, {"prev_kv": prev_kv})

    @staticmethod
    def txn(compare: Sequence[Compare], success: Sequence[Op], failure: Sequence[Op]) -> Op:
        return Op("txn", compare=tuple(compare), success=tuple(success), failure=tuple(failure))


@dataclass(frozen=True)
class Change:
    """One change: revision (main, sub), key, value (None = tombstone) and lease."""

    main: int
    sub: int
    key: bytes
    value: bytes | None
    lease: int


@dataclass
class _Lease:
    ttl: int
    deadline: float


def in_range(k: bytes, key: bytes, range_end: bytes | None) -> bool:
    if range_end is None:
        return k == key
    if range_end == b"\x00":
        return k >= key
    return key <= k < range_end


# Sort and compare targets -> KeyValue attribute.
_ATTR = dict(key="key", version="version", create="create_revision", mod="mod_revision",
             value="value", lease="lease")  # fmt: skip


class ReferenceStore:
    """The model. ``history`` is every change ever made; nothing is ever forgotten."""

    def __init__(
        self,
        *,
        max_txn_ops: int = 128,
        max_request_bytes: int = 1536 * 1024,
        txn_inner_revisions: str = "etcd",
    ) -> None:
        """``txn_inner_revisions``: "etcd" (a range or delete inside a txn reports the revision
        it saw: the txn's own only after its first write) or "txn" (every inner response
        reports the txn's revision). Nested TxnResponses report the txn's revision in both."""
        self.max_txn_ops = max_txn_ops
        self.inner_revisions = txn_inner_revisions
        self.max_request_bytes = max_request_bytes
        self.history: list[Change] = []
        self._pending: list[Change] = []
        self._rev = 1
        self._compact = 0
        self._leases: dict[int, _Lease] = {}
        self.now = 0.0

    # ---- history -------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._rev

    @property
    def compact_revision(self) -> int:
        return self._compact

    def state(self, rev: int) -> dict[bytes, KeyValue]:
        """The live keys at revision ``rev`` (pending txn changes included)."""
        live: dict[bytes, KeyValue] = {}
        for ch in self.history + self._pending:
            if ch.main > rev:
                break
            _apply(live, ch)
        return live

    def events(self, start_revision: int = 1) -> list[Event]:
        """The watch events of every change at revision >= start_revision, with prev_kv."""
        live: dict[bytes, KeyValue] = {}
        out: list[Event] = []
        for ch in self.history:
            prev, kv = _apply(live, ch)
            if ch.main >= start_revision:
                if kv is None:  # DELETE events carry the key and the delete revision only
                    out.append(Event("DELETE", KeyValue(ch.key, b"", 0, ch.main, 0, 0), prev))
                else:
                    out.append(Event("PUT", kv, prev))
        return out

    def _view_rev(self) -> int:
        return self._rev + 1 if self._pending else self._rev

    def _write(self, key: bytes, value: bytes | None, lease: int) -> None:
        self._pending.append(Change(self._rev + 1, len(self._pending), key, value, lease))

    def _end(self) -> int:
        if self._pending:
            self.history.extend(self._pending)
            self._pending = []
            self._rev += 1
        return self._rev

    # ---- validation ----------------------------------------------------------------------
    def _check_size(self, key: bytes, value: bytes) -> None:
        if len(key) + len(value) > self.max_request_bytes:
            raise error("RequestTooLargeError", "etcdserver: request is too large")

    @staticmethod
    def _check_key_range(key: bytes, range_end: bytes | None) -> None:
        if not key:
            raise error("InvalidArgumentError", "etcdserver: key is not provided")
        if range_end is not None and range_end != b"\x00" and range_end <= key:
            raise error("InvalidArgumentError", "etcdserver: range_end <= key")

    @staticmethod
    def _check_put(
        key: bytes, value: bytes, lease: int, ignore_value: bool, ignore_lease: bool, **_: Any
    ) -> None:
        if not key:
            raise error("InvalidArgumentError", "etcdserver: key is not provided")
        if ignore_value and value:
            raise error("InvalidArgumentError", "etcdserver: value is provided")
        if ignore_lease and lease:
            raise error("InvalidArgumentError", "etcdserver: lease is provided")

    def _check_range(
        self,
        key: bytes,
        range_end: bytes | None,
        revision: int,
        limit: int,
        sort_order: str = "none",
        sort_target: str = "key",
        **_: Any,
    ) -> None:
        self._check_key_range(key, range_end)
        if revision < 0 or limit < 0:
            raise error("InvalidArgumentError", "etcdserver: negative revision or limit")
        if (
            sort_order not in ("none", "ascend", "descend")
            or sort_target not in _ATTR
            or sort_target == "lease"
        ):
            raise error("InvalidArgumentError", "etcdserver: bad sort")

    def _check_rev(self, revision: int) -> None:
        if revision > self._rev:
            raise error("FutureRevisionError", "mvcc: required revision is a future revision")
        if 0 < revision < self._compact:
            raise error("CompactedError", "mvcc: required revision has been compacted")

    def _check_lease_exists(self, lease: int) -> None:
        if lease and lease not in self._leases:
            raise error("LeaseNotFoundError", "lease not found")

    def _check_put_state(
        self, key: bytes, lease: int, ignore_value: bool, ignore_lease: bool, **_: Any
    ) -> None:
        # etcd's checkPut: KeyNotFound before LeaseNotFound.
        if (ignore_value or ignore_lease) and key not in self.state(self._rev):
            raise error("KeyNotFoundError", "etcdserver: key not found")
        self._check_lease_exists(lease)

    # ---- KV ------------------------------------------------------------------------------
    def put(
        self,
        key: bytes,
        value: bytes,
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> PutResponse:
        self._check_size(key, value)
        self._check_put(key, value, lease, ignore_value, ignore_lease)
        self._check_lease_exists(lease)  # etcd's Put: lease lookup before the key lookup
        self._check_put_state(key, lease, ignore_value, ignore_lease)
        resp = self._do_put(key, value, lease, prev_kv, ignore_value, ignore_lease)
        self._end()
        return resp

    def _do_put(
        self,
        key: bytes,
        value: bytes,
        lease: int,
        prev_kv: bool,
        ignore_value: bool,
        ignore_lease: bool,
    ) -> PutResponse:
        prev = self.state(self._view_rev()).get(key)
        if prev is not None and ignore_value:
            value = prev.value
        if prev is not None and ignore_lease:
            lease = prev.lease
        self._write(key, value, lease)
        return PutResponse(self._rev + 1, prev if prev_kv else None)

    def put_many(self, items: Sequence[tuple[bytes, bytes]], *, lease: int = 0) -> int:
        for key, value in items:
            self._check_size(key, value)
            self._check_put(key, value, lease, False, False)
        self._check_lease_exists(lease)
        for key, value in items:
            self.put(key, value, lease=lease)
        return self._rev

    def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        **opts: Any,
    ) -> RangeResponse:
        self._check_range(key, range_end, revision, limit, **opts)
        self._check_rev(revision)
        return self._do_range(key, range_end, revision=revision, limit=limit, **opts)

    def _do_range(
        self,
        key: bytes,
        range_end: bytes | None,
        *,
        revision: int = 0,
        limit: int = 0,
        sort_order: str = "none",
        sort_target: str = "key",
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeResponse:
        view = self._view_rev()
        live = self.state(revision or view)
        kvs = [live[k] for k in sorted(live) if in_range(k, key, range_end)]
        count = len(kvs)
        if count_only:
            return RangeResponse(view, [], False, count)
        bounds = (min_mod_revision, max_mod_revision, min_create_revision, max_create_revision)
        if limit > 0 and sort_order == "none" and not any(bounds):
            # etcd pushes limit + 1 down to the index unless sorting or filtering, even when
            # a sort_target other than "key" then sorts those (executeRange).
            kvs = kvs[: limit + 1]
        kvs = [
            kv
            for kv in kvs
            if (not min_mod_revision or kv.mod_revision >= min_mod_revision)
            and (not max_mod_revision or kv.mod_revision <= max_mod_revision)
            and (not min_create_revision or kv.create_revision >= min_create_revision)
            and (not max_create_revision or kv.create_revision <= max_create_revision)
        ]
        target = attrgetter(_ATTR[sort_target])
        if sort_order == "descend":
            # Stable descending sort: ties keep ascending key order.
            kvs = sorted(kvs, key=lambda kv: _Desc(target(kv)))
        elif sort_order == "ascend" or sort_target != "key":
            kvs = sorted(kvs, key=target)
        more = 0 < limit < len(kvs)
        if more:
            kvs = kvs[:limit]
        if keys_only:
            kvs = [
                KeyValue(kv.key, b"", kv.create_revision, kv.mod_revision, kv.version, kv.lease)
                for kv in kvs
            ]
        return RangeResponse(view, kvs, more, count)

    def delete_range(
        self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False
    ) -> DeleteRangeResponse:
        self._check_key_range(key, range_end)
        resp = self._do_delete(key, range_end, prev_kv)
        self._end()
        return DeleteRangeResponse(self._rev, resp.deleted, resp.prev_kvs)

    def _do_delete(self, key: bytes, range_end: bytes | None, prev_kv: bool) -> DeleteRangeResponse:
        live = self.state(self._view_rev())
        doomed = [live[k] for k in sorted(live) if in_range(k, key, range_end)]
        for kv in doomed:
            self._write(kv.key, None, 0)
        return DeleteRangeResponse(self._view_rev(), len(doomed), doomed if prev_kv else [])

    # ---- txn -----------------------------------------------------------------------------
    def txn(
        self,
        compare: Sequence[Compare] = (),
        success: Sequence[Op] = (),
        failure: Sequence[Op] = (),
    ) -> TxnResponse:
        top = Op.txn(compare, success, failure)
        self._txn_sizes(top)
        self._validate_txn(top, self.max_txn_ops)
        for branch in (top.success, top.failure):
            _check_intervals(branch)
        pre = self.state(self._rev)
        self._check_path(top, pre)
        resp = self._exec_txn(top, pre)
        self._end()
        return self._set_revision(resp, self._rev)

    def _set_revision(self, resp: TxnResponse, rev: int) -> TxnResponse:
        out = [
            self._set_revision(r, rev)
            if isinstance(r, TxnResponse)
            else replace(r, revision=rev)
            if self.inner_revisions == "txn"
            else r
            for r in resp.responses
        ]
        return TxnResponse(rev, resp.succeeded, out)

    def _txn_sizes(self, op: Op) -> None:
        """Each put's key + value, and the whole txn's keys, range ends and values."""
        if _payload(op) > self.max_request_bytes:
            raise error("RequestTooLargeError", "etcdserver: request is too large")

    def _validate_txn(self, op: Op, max_ops: int) -> None:
        """etcd's checkTxnRequest: nested txns get ``max_ops`` minus this level's count."""
        opc = max(len(op.compare), len(op.success), len(op.failure))
        if opc > max_ops:
            raise error("TooManyOpsError", "etcdserver: too many operations in txn request")
        for c in op.compare:
            self._check_key_range(c.key, c.range_end)
        for sub in op.success + op.failure:
            if sub.kind == "range":
                self._check_range(sub.key, sub.range_end, **sub.kwargs)
            elif sub.kind == "put":
                self._check_put(sub.key, **sub.kwargs)
            elif sub.kind == "delete":
                self._check_key_range(sub.key, sub.range_end)
            else:
                self._validate_txn(sub, max_ops - opc)

    def _holds(self, compares: Sequence[Compare], live: dict[bytes, KeyValue]) -> bool:
        for c in compares:
            kvs = [live[k] for k in sorted(live) if in_range(k, c.key, c.range_end)]
            if not kvs:
                if c.target == "value":
                    return False
                kvs = [KeyValue(c.key, b"", 0, 0, 0, 0)]
            for kv in kvs:
                a = getattr(kv, _ATTR[c.target])
                b = c.value
                ok = {"=": a == b, "==": a == b, "!=": a != b, ">": a > b, "<": a < b}[c.result]
                if not ok:
                    return False
        return True

    def _check_path(self, op: Op, pre: dict[bytes, KeyValue]) -> None:
        """etcd's checkTxn: along the taken path, against the state before the txn."""
        for sub in op.success if self._holds(op.compare, pre) else op.failure:
            kw = sub.kwargs
            if sub.kind == "range":
                self._check_rev(kw["revision"])
            elif sub.kind == "put":
                self._check_put_state(sub.key, **kw)
            elif sub.kind == "txn":
                self._check_path(sub, pre)

    def _exec_txn(self, op: Op, pre: dict[bytes, KeyValue]) -> TxnResponse:
        # Like etcd's compareToPath, nested compares see the state before the txn.
        ok = self._holds(op.compare, pre)
        out: list[Any] = []
        for sub in op.success if ok else op.failure:
            kw = sub.kwargs
            if sub.kind == "range":
                out.append(self._do_range(sub.key, sub.range_end, **kw))
            elif sub.kind == "put":
                out.append(self._do_put(sub.key, **kw))
            elif sub.kind == "delete":
                out.append(self._do_delete(sub.key, sub.range_end, kw["prev_kv"]))
            else:
                out.append(self._exec_txn(sub, pre))
        return TxnResponse(self._view_rev(), ok, out)

    def compact(self, revision: int) -> int:
        if revision <= self._compact:
            raise error("CompactedError", "mvcc: required revision has been compacted")
        if revision > self._rev:
            raise error("FutureRevisionError", "mvcc: required revision is a future revision")
        self._compact = revision
        return self._rev

    # ---- leases --------------------------------------------------------------------------
    def lease_grant(self, ttl: int, id: int = 0) -> LeaseGrant:
        if id == 0:
            id = max(self._leases, default=0) + 1
        if id in self._leases:
            raise error("LeaseExistsError", "lease already exists")
        ttl = max(ttl, 2)
        self._leases[id] = _Lease(ttl, self.now + ttl)
        return LeaseGrant(id, ttl, self._rev)

    def lease_revoke(self, id: int) -> int:
        self._check_lease_exists(id or -1)
        live = self.state(self._rev)
        for k in sorted(live):
            if live[k].lease == id:
                self._write(k, None, 0)
        del self._leases[id]
        return self._end()

    def lease_keepalive(self, id: int) -> int:
        self._check_lease_exists(id or -1)
        lease = self._leases[id]
        lease.deadline = self.now + lease.ttl
        return lease.ttl

    def lease_time_to_live(self, id: int, keys: bool = False) -> LeaseTimeToLive:
        lease = self._leases.get(id)
        if lease is None:
            return LeaseTimeToLive(id, -1, 0, [])
        live = self.state(self._rev)
        attached = sorted(k for k, kv in live.items() if kv.lease == id) if keys else []
        return LeaseTimeToLive(
            id, max(0, math.floor(lease.deadline - self.now)), lease.ttl, attached
        )

    def leases(self) -> list[int]:
        return sorted(self._leases)

    def advance_clock(self, seconds: float) -> list[int]:
        self.now += seconds
        expired = sorted(i for i, lease in self._leases.items() if lease.deadline <= self.now)
        for i in expired:
            self.lease_revoke(i)
        return expired

    def restart(self) -> None:
        """What a close and reopen does: every lease's deadline is reset to now + ttl."""
        for lease in self._leases.values():
            lease.deadline = self.now + lease.ttl


def _apply(live: dict[bytes, KeyValue], ch: Change) -> tuple[KeyValue | None, KeyValue | None]:
    """Apply one change to ``live``; returns the key's (previous, new) live version."""
    prev = live.pop(ch.key, None)
    if ch.value is None:
        return prev, None
    create, version = (prev.create_revision, prev.version + 1) if prev else (ch.main, 1)
    live[ch.key] = KeyValue(ch.key, ch.value, create, ch.main, version, ch.lease)
    return prev, live[ch.key]


class _Desc:
    """Sort key wrapper that inverts the order (for a stable descending sort)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.v < self.v)


def _payload(op: Op) -> int:
    """The bytes of a request: its keys, range ends and values, nested ops included."""
    size = len(op.key) + len(op.range_end or b"") + len(op.kwargs.get("value", b""))
    for c in op.compare:
        size += len(c.key) + len(c.range_end or b"")
        size += len(c.value) if isinstance(c.value, bytes) else 0
    return size + sum(_payload(sub) for sub in op.success + op.failure)


def _intersects(dels: list[tuple[bytes, bytes | None]], k: bytes) -> bool:
    return any(in_range(k, key, end) for key, end in dels)


def _check_intervals(ops: Sequence[Op]) -> tuple[set[bytes], list[tuple[bytes, bytes | None]]]:
    """etcd's checkIntervals (v3rpc/key.go): a put may not meet another put or a delete."""
    dup = error("DuplicateKeyError", "etcdserver: duplicate key given in txn request")
    dels = [(op.key, op.range_end) for op in ops if op.kind == "delete"]
    puts: set[bytes] = set()
    for op in ops:
        if op.kind != "txn":
            continue
        puts_then, dels_then = _check_intervals(op.success)
        puts_else, dels_else = _check_intervals(op.failure)
        for k in puts_then:
            if k in puts or _intersects(dels, k):
                raise dup
            puts.add(k)
        for k in puts_else:
            if (k in puts and k not in puts_then) or _intersects(dels, k):
                raise dup
            puts.add(k)
        dels += dels_then + dels_else
    for op in ops:
        if op.kind == "put":
            if op.key in puts or _intersects(dels, op.key):
                raise dup
            puts.add(op.key)
    return puts, dels
