"""The only code that touches the store: objects by key, with mod_revision as resourceVersion.

:class:`Storage` is the protocol the apiserver core needs; :class:`EmbeddedStorage` implements it
over :class:`kubemu.store.Store` (in this process). Values are opaque bytes here (the core
encodes them); keys are ``Kind.key(...)``. Every write is a compare-and-swap on the key's
``mod_revision`` (``0``: the key must not exist), as kube-apiserver's etcd3 storage does.
Batches are one store txn per :data:`BATCH_CHUNK` items: each item is a nested txn with its own
compare, so items succeed or fail independently and share one revision (creates: the same txns
built in Rust by ``Store.create_many``, where a key given twice creates once).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

from kubemu.gcpause import PROMOTE_AT, gc_paused, promote
from kubemu.store import (
    CompactedError,
    Compare,
    FutureRevisionError,
    Op,
    RangeResponse,
    Store,
    TxnResponse,
    Watch,
    prefix_end,
)

__all__ = [
    "BATCH_CHUNK",
    "EmbeddedStorage",
    "KeyExists",
    "KeyMissing",
    "RevisionMismatch",
    "Storage",
    "StorageCompacted",
    "StorageFutureRevision",
    "StoredEvent",
    "StoredList",
    "StoredObject",
    "WatchSubscription",
    "WriteResult",
]

BATCH_CHUNK = 64
"""Items per store txn in a batch (two ops each, under the store's default 128 ops)."""


class StoredObject:
    """A stored value and its key's mod_revision (the object's resourceVersion)."""

    __slots__ = ("key", "revision", "value")

    def __init__(self, key: bytes, value: bytes, revision: int) -> None:
        self.key = key
        self.value = value
        self.revision = revision

    def __repr__(self) -> str:
        return f"StoredObject({self.key!r}, <{len(self.value)} bytes>, {self.revision})"


@dataclass(frozen=True, slots=True)
class StoredList:
    items: list[StoredObject]
    revision: int
    more: bool
    count: int
    """Keys in the whole range at ``revision`` (from ``start`` on)."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    type: Literal["PUT", "DELETE"]
    key: bytes
    value: bytes
    """The new value (PUT) or the last value before the delete (DELETE)."""
    revision: int
    prev_value: bytes | None


class KeyExists(Exception):
    """create: the key exists."""


class KeyMissing(Exception):
    """update/delete: the key does not exist."""


class RevisionMismatch(Exception):
    """update/delete: the key's mod_revision is not the expected one."""

    def __init__(self, current: StoredObject | None) -> None:
        super().__init__("revision mismatch")
        self.current = current


class StorageCompacted(Exception):
    def __init__(self, requested: int, compact_revision: int) -> None:
        super().__init__(f"revision {requested} is compacted (at {compact_revision})")
        self.requested = requested
        self.compact_revision = compact_revision


class StorageFutureRevision(Exception):
    pass


WriteResult = int | Exception
"""Per-item outcome of a batch: the new revision, or KeyExists / RevisionMismatch / KeyMissing."""
Results = list[WriteResult]
_Ops = list[tuple[bytes, Op]]
"""(key, the item's nested txn) per item of a batch."""


class WatchSubscription(Protocol):
    """Batches of events (one batch per store revision group), then the end."""

    def __aiter__(self) -> AsyncIterator[list[StoredEvent]]: ...

    def request_progress(self) -> None: ...

    def close(self) -> None: ...

    @property
    def progress_revision(self) -> int:
        """Every event up to this revision has been yielded."""
        ...


class Storage(Protocol):
    @property
    def revision(self) -> int: ...

    @property
    def compact_revision(self) -> int: ...

    def get(self, key: bytes) -> StoredObject | None: ...

    def list(
        self, prefix: bytes, *, start: bytes | None = None, limit: int = 0, revision: int = 0
    ) -> StoredList: ...

    def create(self, key: bytes, value: bytes) -> int: ...

    def update(self, key: bytes, value: bytes, expected_revision: int) -> int: ...

    def delete(self, key: bytes, expected_revision: int) -> StoredObject: ...

    def create_many(self, items: Sequence[tuple[bytes, bytes]]) -> Results: ...

    def update_many(self, items: Sequence[tuple[bytes, bytes, int]]) -> Results: ...

    def watch(self, prefix: bytes, start_revision: int) -> WatchSubscription: ...


def _stored(kvs: RangeResponse) -> StoredObject | None:
    if not kvs.kvs:
        return None
    kv = kvs.kvs[0]
    return StoredObject(kv.key, kv.value, kv.mod_revision)


class _StoreWatch:
    """A store watch on a prefix, yielding batches of :class:`StoredEvent`."""

    def __init__(self, store: Store, prefix: bytes, start_revision: int) -> None:
        try:
            self._watch: Watch = store.watch(
                prefix, prefix_end(prefix), start_revision=start_revision, prev_kv=True
            )
        except CompactedError:
            raise StorageCompacted(start_revision, store.compact_revision) from None
        self._progress = max(start_revision - 1, 0)

    @property
    def progress_revision(self) -> int:
        return self._progress

    def request_progress(self) -> None:
        self._watch.stream.request_progress()

    def close(self) -> None:
        self._watch.close()

    async def __aiter__(self) -> AsyncIterator[list[StoredEvent]]:
        async for resp in self._watch:
            if resp.canceled:
                if resp.compact_revision:
                    raise StorageCompacted(self._progress + 1, resp.compact_revision)
                return
            batch: list[StoredEvent] = []
            for ev in resp.events:
                kv = ev.kv
                prev = ev.prev_kv
                if ev.type == "PUT":
                    batch.append(
                        StoredEvent(
                            "PUT", kv.key, kv.value, kv.mod_revision, prev.value if prev else None
                        )
                    )
                else:
                    old = prev.value if prev is not None else b""
                    batch.append(StoredEvent("DELETE", kv.key, old, kv.mod_revision, old))
            if batch:
                self._progress = max(self._progress, batch[-1].revision)
            if resp.revision > self._progress and (resp.is_progress_notify or not resp.events):
                self._progress = resp.revision
            if batch:
                yield batch


class EmbeddedStorage:
    """:class:`Storage` over a :class:`kubemu.store.Store` in this process."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def revision(self) -> int:
        return self.store.revision

    @property
    def compact_revision(self) -> int:
        return self.store.compact_revision

    def get(self, key: bytes) -> StoredObject | None:
        return _stored(self.store.range(key))

    def list(
        self, prefix: bytes, *, start: bytes | None = None, limit: int = 0, revision: int = 0
    ) -> StoredList:
        # Two small acyclic objects per item: no collection walks the heap meanwhile, and a
        # large result goes straight to the old generation (kubemu.gcpause).
        with gc_paused():
            try:
                resp = self.store.range(
                    start or prefix, prefix_end(prefix), revision=revision, limit=limit
                )
            except CompactedError:
                raise StorageCompacted(revision, self.store.compact_revision) from None
            except FutureRevisionError:
                raise StorageFutureRevision(revision) from None
            items = [StoredObject(kv.key, kv.value, kv.mod_revision) for kv in resp.kvs]
            if len(items) >= PROMOTE_AT:
                promote()
        return StoredList(items, resp.revision, resp.more, resp.count)

    def create(self, key: bytes, value: bytes) -> int:
        resp = self.store.txn([Compare(key, "mod", "=", 0)], [Op.put(key, value)], [])
        if not resp.succeeded:
            raise KeyExists(key)
        return resp.revision

    def update(self, key: bytes, value: bytes, expected_revision: int) -> int:
        resp = self.store.txn(
            [Compare(key, "mod", "=", expected_revision)], [Op.put(key, value)], [Op.range(key)]
        )
        if not resp.succeeded:
            current = resp.responses[0]
            assert isinstance(current, RangeResponse)
            raise RevisionMismatch(_stored(current))
        return resp.revision

    def delete(self, key: bytes, expected_revision: int) -> StoredObject:
        resp = self.store.txn(
            [Compare(key, "mod", "=", expected_revision)],
            [Op.delete(key, prev_kv=True)],
            [Op.range(key)],
        )
        first = resp.responses[0]
        if not resp.succeeded:
            assert isinstance(first, RangeResponse)
            current = _stored(first)
            if current is None:
                raise KeyMissing(key)
            raise RevisionMismatch(current)
        prev = getattr(first, "prev_kvs", [])
        if not prev:
            raise KeyMissing(key)
        return StoredObject(key, prev[0].value, resp.revision)

    def _batch(self, ops: _Ops, missing_ok: bool) -> Results:
        out: Results = []
        for i in range(0, len(ops), BATCH_CHUNK):
            chunk = ops[i : i + BATCH_CHUNK]
            keys = [k for k, _ in chunk]
            if len(set(keys)) != len(keys):
                # The same key twice: one txn per item keeps them apart.
                for item in chunk:
                    out.extend(self._run_txn([item], missing_ok))
            else:
                out.extend(self._run_txn(chunk, missing_ok))
        return out

    def _run_txn(self, chunk: _Ops, create: bool) -> Results:
        resp = self.store.txn([], [op for _, op in chunk], [])
        out: Results = []
        revision = resp.revision
        for (key, _), sub in zip(chunk, resp.responses, strict=True):
            assert isinstance(sub, TxnResponse)
            if sub.succeeded:  # the put ran at the txn's revision
                out.append(revision)
            elif create:
                out.append(KeyExists(key))
            else:
                rng = sub.responses[0]
                assert isinstance(rng, RangeResponse)
                current = _stored(rng)
                out.append(KeyMissing(key) if current is None else RevisionMismatch(current))
        return out

    def create_many(self, items: Sequence[tuple[bytes, bytes]]) -> Results:
        """One :meth:`Store.create_many <kubemu._core.Store.create_many>` call: the chunks'
        txns of create-if-absent built in Rust, one group commit."""
        created: list[int | None] = self.store.create_many(items, chunk=BATCH_CHUNK)
        if None not in created:
            return cast(Results, created)  # no None: all revisions
        return [KeyExists(k) if r is None else r for (k, _), r in zip(items, created, strict=True)]

    def update_many(self, items: Sequence[tuple[bytes, bytes, int]]) -> Results:
        ops = [
            (k, Op.txn([Compare(k, "mod", "=", rev)], [Op.put(k, v)], [Op.range(k)]))
            for k, v, rev in items
        ]
        return self._batch(ops, False)

    def watch(self, prefix: bytes, start_revision: int) -> WatchSubscription:
        return _StoreWatch(self.store, prefix, start_revision)
