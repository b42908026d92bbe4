"""EmbeddedStorage.create_many over Store.create_many: create-if-absent per item, one revision
per chunk of BATCH_CHUNK items, KeyExists for keys that exist (in the store or earlier in the
batch), and clear errors for malformed input."""

from __future__ import annotations

import pytest
from kubemu.apiserver.storage import BATCH_CHUNK, EmbeddedStorage, KeyExists
from kubemu.store import Store


def test_create_many_per_item_outcomes_and_chunk_revisions() -> None:
    storage = EmbeddedStorage(Store(fsync=False))
    first = storage.create(b"/k/exists", b"old")
    items = [(f"/k/{i:03d}".encode(), f"v{i}".encode()) for i in range(BATCH_CHUNK + 3)]
    items.insert(5, (b"/k/exists", b"new"))
    items.insert(9, (b"/k/001", b"again"))  # the same key twice in one chunk
    out = storage.create_many(items)
    assert isinstance(out[5], KeyExists) and isinstance(out[9], KeyExists)
    revisions = [r for r in out if isinstance(r, int)]
    assert len(revisions) == len(items) - 2
    # One revision per chunk of BATCH_CHUNK items (the two that exist count in their chunk).
    assert sorted(set(revisions)) == [first + 1, first + 2]
    assert revisions.count(first + 1) == BATCH_CHUNK - 2
    got = storage.get(b"/k/001")
    assert got is not None and (got.value, got.revision) == (b"v1", first + 1)
    exists = storage.get(b"/k/exists")
    assert exists is not None and exists.value == b"old"
    assert storage.create_many([]) == []


def test_create_many_all_created_returns_revisions() -> None:
    storage = EmbeddedStorage(Store(fsync=False))
    rev = storage.revision
    assert storage.create_many([(b"/a", b"1"), (b"/b", b"2")]) == [rev + 1, rev + 1]


def test_store_create_many_rejects_malformed_input() -> None:
    store = Store(fsync=False)
    for bad in ([(b"k", "str")], [("k", b"v")], [(b"k",)], [b"k"], [(b"k", b"v", b"x")]):
        with pytest.raises(ValueError, match="create_many takes"):
            store.create_many(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk must be positive"):
        store.create_many([(b"k", b"v")], chunk=0)
    with pytest.raises(ValueError, match="key is not provided"):
        store.create_many([(b"", b"v")])
    assert store.range(b"k").kvs == []
