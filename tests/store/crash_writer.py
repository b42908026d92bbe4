"""Child program of the crash test: writes to a durable store until it is killed.

Usage (from the repository root, with ``python/`` and ``.`` on PYTHONPATH)::

    python -m tests.store.crash_writer DATA_DIR SEED [SNAPSHOT_WAL_BYTES]

It opens ``Store(DATA_DIR)`` (fsync on; a small SNAPSHOT_WAL_BYTES makes the store
snapshot and drop WAL segments while it is being killed) and, from 1-3 threads, loops
forever over a mix of ``put``, ``put_many`` (1-200 pairs), ``delete_range`` (one key,
one group of keys, or several groups) and Kubernetes-style ``txn`` (compare
mod_revision, then put; sometimes with a second put and a delete in the same txn).
Thread 0 now and then compacts to 2,000 revisions behind the head.

The protocol on stdout is one JSON object per line, written with ``os.write`` under a
lock so lines never interleave:

* ``{"ready": REV, "threads": N}`` once the store is open;
* ``{"intent": [T, SEQ], "kind": K, "ops": OPS}`` BEFORE each write call, where OPS
  lists what the call may write: ``["put", key, value]`` and
  ``["delrange", key, range_end]``;
* ``{"ack": [T, SEQ], "kind": K, "rev": REV, "ops": OPS}`` AFTER the call returned,
  where OPS lists what it did, each with the revision it was written at:
  ``["put", key, value, rev]`` and ``["del", key, rev]`` (empty for a txn whose
  compare failed or a delete that matched nothing);
* ``{"intent"|"ack": [T, SEQ], "kind": "compact", "rev": C, "ops": []}`` around a
  ``compact(C)``;
* ``{"error": TEXT}`` if the store raised (the process then exits with status 3).

Keys and values are ASCII and are written to JSON as latin-1 strings. Every value
encodes (seed, thread, sequence number, index), so it is unique across the rounds of
a test run and recognisable in a recovered store.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import traceback
from typing import Any

from kubemu.store import Compare, Op, Store, prefix_end

PREFIX = b"/registry/crash/"
GROUPS = 32
KEYS_PER_GROUP = 16


def key_of(group: int, index: int) -> bytes:
    return PREFIX + b"g%02d/k%02d" % (group, index)


def group_prefix(group: int) -> bytes:
    return PREFIX + b"g%02d/" % group


ALL_KEYS = [key_of(g, i) for g in range(GROUPS) for i in range(KEYS_PER_GROUP)]


def s(b: bytes) -> str:
    return b.decode("latin-1")


class Writer:
    def __init__(self, store: Store, seed: int) -> None:
        self.store = store
        self.seed = seed
        self.lock = threading.Lock()

    def emit(self, obj: dict[str, Any]) -> None:
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode("latin-1")
        with self.lock:
            view = memoryview(data)
            while view:
                n = os.write(1, view)
                view = view[n:]

    def value(self, rng: random.Random, t: int, seq: int, i: int, max_pad: int) -> bytes:
        head = b"v|s%d|t%d|q%d|i%d|" % (self.seed, t, seq, i)
        pad = rng.randrange(0, max_pad) if rng.random() < 0.9 else rng.randrange(0, 4 * max_pad)
        return head + b"x" * pad

    def run_thread(self, t: int) -> None:
        rng = random.Random(self.seed * 1000 + t)
        seq = 0
        try:
            while True:
                seq += 1
                r = rng.random()
                if t == 0 and rng.random() < 0.01:
                    self.do_compact(t, seq)
                elif r < 0.30:
                    self.do_put(rng, t, seq)
                elif r < 0.55:
                    self.do_put_many(rng, t, seq)
                elif r < 0.65:
                    self.do_delete(rng, t, seq)
                else:
                    self.do_txn(rng, t, seq)
        except BaseException:
            self.emit({"error": traceback.format_exc()})
            os._exit(3)

    def do_compact(self, t: int, seq: int) -> None:
        rev = self.store.revision - 2000
        if rev <= self.store.compact_revision:
            return
        self.emit({"intent": [t, seq], "kind": "compact", "rev": rev, "ops": []})
        self.store.compact(rev)
        self.emit({"ack": [t, seq], "kind": "compact", "rev": rev, "ops": []})

    def do_put(self, rng: random.Random, t: int, seq: int) -> None:
        key = rng.choice(ALL_KEYS)
        value = self.value(rng, t, seq, 0, 1000)
        self.emit({"intent": [t, seq], "kind": "put", "ops": [["put", s(key), s(value)]]})
        resp = self.store.put(key, value)
        self.emit(
            {
                "ack": [t, seq],
                "kind": "put",
                "rev": resp.revision,
                "ops": [["put", s(key), s(value), resp.revision]],
            }
        )

    def do_put_many(self, rng: random.Random, t: int, seq: int) -> None:
        n = rng.randint(1, 200)
        keys = rng.sample(ALL_KEYS, n)
        items = [(k, self.value(rng, t, seq, i, 500)) for i, k in enumerate(keys)]
        self.emit(
            {
                "intent": [t, seq],
                "kind": "put_many",
                "ops": [["put", s(k), s(v)] for k, v in items],
            }
        )
        last = self.store.put_many(items)
        # "One revision per pair": pair i is written at revision last - n + 1 + i.
        first = last - n + 1
        self.emit(
            {
                "ack": [t, seq],
                "kind": "put_many",
                "rev": last,
                "ops": [["put", s(k), s(v), first + i] for i, (k, v) in enumerate(items)],
            }
        )

    def do_delete(self, rng: random.Random, t: int, seq: int) -> None:
        r = rng.random()
        end: bytes | None
        if r < 0.5:
            key, end = rng.choice(ALL_KEYS), None
        elif r < 0.9:
            g = rng.randrange(GROUPS)
            key = group_prefix(g)
            end = prefix_end(key)
        else:
            g = rng.randrange(GROUPS - 4)
            key = group_prefix(g)
            end = group_prefix(g + rng.randint(1, 4))
        intent_end = end if end is not None else key + b"\x00"
        self.emit(
            {"intent": [t, seq], "kind": "delete", "ops": [["delrange", s(key), s(intent_end)]]}
        )
        resp = self.store.delete_range(key, end, prev_kv=True)
        if resp.deleted != len(resp.prev_kvs):
            raise AssertionError(f"deleted={resp.deleted} but {len(resp.prev_kvs)} prev_kvs")
        self.emit(
            {
                "ack": [t, seq],
                "kind": "delete",
                "rev": resp.revision,
                "ops": [["del", s(kv.key), resp.revision] for kv in resp.prev_kvs],
            }
        )

    def do_txn(self, rng: random.Random, t: int, seq: int) -> None:
        # Kubernetes GuaranteedUpdate: read, then write if mod_revision is unchanged.
        key = rng.choice(ALL_KEYS)
        got = self.store.range(key)
        mod = got.kvs[0].mod_revision if got.kvs else 0
        value = self.value(rng, t, seq, 0, 1000)
        success = [Op.put(key, value)]
        intent_ops: list[list[str]] = [["put", s(key), s(value)]]
        extra_put: tuple[bytes, bytes] | None = None
        extra_del: bytes | None = None
        if rng.random() < 0.3:
            others = rng.sample([k for k in ALL_KEYS if k != key], 2)
            v2 = self.value(rng, t, seq, 1, 300)
            extra_put = (others[0], v2)
            extra_del = others[1]
            success.append(Op.put(others[0], v2))
            success.append(Op.delete(others[1], prev_kv=True))
            intent_ops.append(["put", s(others[0]), s(v2)])
            intent_ops.append(["delrange", s(others[1]), s(others[1] + b"\x00")])
        self.emit({"intent": [t, seq], "kind": "txn", "ops": intent_ops})
        resp = self.store.txn(
            [Compare(key, "mod", "=", mod)],
            success,
            [Op.range(key)],
        )
        ops: list[list[Any]] = []
        if resp.succeeded:
            rev = resp.revision
            ops.append(["put", s(key), s(value), rev])
            if extra_put is not None:
                ops.append(["put", s(extra_put[0]), s(extra_put[1]), rev])
            if extra_del is not None:
                dresp = resp.responses[2]
                prev_kvs = getattr(dresp, "prev_kvs", None)
                if prev_kvs is None:
                    raise AssertionError(f"txn response 2 is {type(dresp).__name__}")
                ops.extend(["del", s(kv.key), rev] for kv in prev_kvs)
        self.emit({"ack": [t, seq], "kind": "txn", "rev": resp.revision, "ops": ops})


def main(argv: list[str]) -> int:
    data_dir = argv[0]
    seed = int(argv[1])
    threads = random.Random(seed).randint(1, 3)
    opts: dict[str, Any] = {}
    if len(argv) > 2 and int(argv[2]) > 0:
        opts["snapshot_wal_bytes"] = int(argv[2])
    try:
        store = Store(data_dir, fsync=True, **opts)
    except BaseException:
        sys.stdout.write(json.dumps({"error": traceback.format_exc()}) + "\n")
        sys.stdout.flush()
        return 3
    writer = Writer(store, seed)
    writer.emit({"ready": store.revision, "threads": threads})
    workers = [
        threading.Thread(target=writer.run_thread, args=(t,), daemon=True) for t in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
