"""Crash tests of the durable store: SIGKILL under load, torn tails, corrupt WAL.

``test_sigkill_under_load`` runs ``tests.store.crash_writer`` on ONE data dir for
many rounds, kills it with SIGKILL at a random moment (sometimes while it is still
opening/recovering the store) and checks after each round that:

1. the store opens (a torn tail is truncated, never an error);
2. every acknowledged write is durable: each acknowledged put/delete is visible in
   history at the revision it was acknowledged at, and the current value of every
   key is its last acknowledged state, or else the value of an attempted but
   unacknowledged write of the same round at a later revision (or absent if an
   unacknowledged delete covered it) - never an older value, never a value that
   was never attempted;
3. the revision is >= every acknowledged revision, never goes backwards, and grew
   by no more than the acknowledged plus attempted writes can explain;
4. an unacknowledged multi-op txn or put_many is all-or-nothing (a put_many is one
   revision per pair but one WAL record);
5. ``status()`` works and agrees with a full range.

Env knobs: KUBEMU_CRASH_SEED (default 20240611), KUBEMU_CRASH_ROUNDS (default 20).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubemu.store as kstore
import pytest
from kubemu.store import CorruptionError, Store

from .crash_writer import PREFIX, prefix_end

REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("KUBEMU_CRASH_SEED", "20240611"))
ROUNDS = int(os.environ.get("KUBEMU_CRASH_ROUNDS", "20"))


def b(x: str) -> bytes:
    return x.encode("latin-1")


def child_env() -> dict[str, str]:
    # Make the child import the very same kubemu package as this process.
    pkg_parent = Path(kstore.__file__).resolve().parent.parent
    parts = [str(pkg_parent), str(REPO)]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --------------------------------------------------------------------------- round


@dataclass
class RoundLog:
    ready: bool = False
    errors: list[str] = field(default_factory=list)
    intents: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    acks: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    torn_tail: bool = False


def parse_log(raw: bytes) -> RoundLog:
    log = RoundLog()
    lines = raw.split(b"\n")
    if lines and lines[-1] != b"":
        log.torn_tail = True  # killed in the middle of writing this line: ignore it
    for line in lines[:-1]:
        obj = json.loads(line)
        if "ready" in obj:
            log.ready = True
        elif "error" in obj:
            log.errors.append(obj["error"])
        elif "intent" in obj:
            log.intents[(obj["intent"][0], obj["intent"][1])] = obj
        elif "ack" in obj:
            log.acks[(obj["ack"][0], obj["ack"][1])] = obj
        else:
            raise AssertionError(f"unknown line {line[:200]!r}")
    for tid in log.acks:
        assert tid in log.intents, f"ack {tid} without an intent"
    return log


def run_child(
    data_dir: Path, out_dir: Path, round_no: int, seed: int, snap_bytes: int, rng: random.Random
) -> bytes:
    out_path = out_dir / f"round-{round_no:02d}.out"
    err_path = out_dir / f"round-{round_no:02d}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.store.crash_writer",
                str(data_dir),
                str(seed),
                str(snap_bytes),
            ],
            cwd=REPO,
            env=child_env(),
            stdout=out,
            stderr=err,
        )
        try:
            if rng.random() < 0.15:
                # Kill early: maybe while the child is still opening/recovering the store.
                time.sleep(rng.uniform(0.0, 0.25))
            else:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and proc.poll() is None:
                    if out_path.stat().st_size > 0:
                        break
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.05, 0.4))
            rc = proc.poll()
            if rc is not None:
                raise AssertionError(
                    f"writer exited by itself with {rc}: {out_path.read_bytes()[-2000:]!r} "
                    f"{err_path.read_bytes()[-4000:]!r}"
                )
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return out_path.read_bytes()


@dataclass
class Model:
    """What the test knows of the store at the end of the previous round."""

    revision: int = 1  # an empty etcd store is at revision 1
    compact: int = 0
    state: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)  # key -> (value, mod)
    # (key, rev, value or None) of acknowledged ops of earlier rounds, re-checked later.
    history: list[tuple[bytes, int, bytes | None]] = field(default_factory=list)


def check_round(store: Store, model: Model, log: RoundLog, where: str) -> dict[str, int]:
    # --- what was acknowledged / attempted
    acked: list[tuple[bytes, int, bytes | None]] = []  # key, rev, value (None: deleted)
    acked_revs: set[int] = set()
    acked_compacts = [a["rev"] for a in log.acks.values() if a["kind"] == "compact"]
    for ack in log.acks.values():
        for op in ack["ops"]:
            if op[0] == "put":
                acked.append((b(op[1]), op[3], b(op[2])))
                acked_revs.add(op[3])
            else:
                acked.append((b(op[1]), op[2], None))
                acked_revs.add(op[2])
    unacked = [it for tid, it in log.intents.items() if tid not in log.acks]
    unacked_compacts = [it["rev"] for it in unacked if it["kind"] == "compact"]
    unacked_puts: dict[bytes, set[bytes]] = defaultdict(set)
    unacked_dels: list[tuple[bytes, bytes]] = []
    budget = 0  # revisions the unacknowledged calls may have created
    for it in unacked:
        for op in it["ops"]:
            if op[0] == "put":
                unacked_puts[b(op[1])].add(b(op[2]))
            else:
                unacked_dels.append((b(op[1]), b(op[2])))
        budget += {"put_many": len(it["ops"]), "compact": 0}.get(it["kind"], 1)

    def unacked_delete_covers(key: bytes) -> bool:
        return any(lo <= key < hi for lo, hi in unacked_dels)

    # --- (3) revision
    rev = store.revision
    max_acked = max(acked_revs, default=0)
    assert rev >= max_acked, f"{where}: revision {rev} < acknowledged revision {max_acked}"
    assert rev >= model.revision, f"{where}: revision went back {model.revision} -> {rev}"
    assert all(r > model.revision for r in acked_revs), (
        f"{where}: acknowledged revisions {sorted(acked_revs)[:5]} not above the "
        f"previous recovered revision {model.revision}"
    )
    assert rev - model.revision <= len(acked_revs) + budget, (
        f"{where}: revision grew {model.revision} -> {rev}, more than "
        f"{len(acked_revs)} acknowledged + {budget} attempted revisions"
    )

    # --- compaction: an acknowledged one is kept, an attempted one may be
    cr = store.compact_revision
    assert cr >= max([model.compact, *acked_compacts]), (
        f"{where}: compact_revision {cr} below an acknowledged compaction "
        f"{max([model.compact, *acked_compacts])}"
    )
    assert cr in {model.compact, *acked_compacts, *unacked_compacts}, (
        f"{where}: compact_revision {cr} was never requested"
    )
    model.history = [h for h in model.history if h[1] >= cr]

    # --- (2a) every acknowledged op is in history at its revision (unless compacted)
    last: dict[bytes, tuple[int, bytes | None]] = {}
    for key, r, value in acked:
        prev = last.get(key)
        assert prev is None or prev[0] != r, f"{where}: two acked ops on {key!r} at rev {r}"
        if prev is None or prev[0] < r:
            last[key] = (r, value)
    for key, r, value in acked + model.history:
        if r < cr:
            continue
        kvs = store.range(key, revision=r).kvs
        if value is None:
            assert kvs == [], (
                f"{where}: acked delete of {key!r} at rev {r} but found {kvs[0].value[:60]!r}"
            )
        else:
            assert len(kvs) == 1, f"{where}: acked put of {key!r} at rev {r} lost (range@{r} empty)"
            kv = kvs[0]
            assert kv.value == value and kv.mod_revision == r, (
                f"{where}: acked put of {key!r} at rev {r}: range@{r} gave mod_revision "
                f"{kv.mod_revision} value {kv.value[:60]!r}, expected {value[:60]!r}"
            )

    # --- (2b) current state
    cur = {kv.key: kv for kv in store.range(PREFIX, prefix_end(PREFIX)).kvs}
    everything = store.range(b"\x00", b"\x00")
    foreign = [kv.key for kv in everything.kvs if not kv.key.startswith(PREFIX)]
    assert not foreign, f"{where}: keys never written: {foreign[:5]}"
    assert everything.count == len(everything.kvs) == len(cur)
    unacked_seen = 0
    for key in set(cur) | set(last) | set(model.state):
        if key in last:
            exp_rev, exp_val = last[key]
        elif key in model.state:
            exp_val, exp_rev = model.state[key]
        else:
            exp_rev, exp_val = 0, None
        floor = max(exp_rev, model.revision)
        kv = cur.get(key)
        if kv is None:
            assert exp_val is None or unacked_delete_covers(key), (
                f"{where}: {key!r} is missing; expected value {exp_val[:60]!r} at rev {exp_rev}"
            )
            continue
        assert 0 < kv.create_revision <= kv.mod_revision <= rev and kv.version >= 1, (
            f"{where}: bad kv metadata {key!r} create={kv.create_revision} "
            f"mod={kv.mod_revision} version={kv.version} rev={rev}"
        )
        if exp_val is not None and kv.value == exp_val:
            assert kv.mod_revision == exp_rev, (
                f"{where}: {key!r} has its expected value but mod_revision "
                f"{kv.mod_revision} != {exp_rev}"
            )
            continue
        assert kv.value in unacked_puts.get(key, ()), (
            f"{where}: {key!r} has value {kv.value[:60]!r} (mod {kv.mod_revision}) which is "
            f"neither the last acknowledged one ({exp_val and exp_val[:60]!r} at rev {exp_rev}) "
            "nor one attempted after it"
        )
        assert kv.mod_revision > floor, (
            f"{where}: {key!r} has unacknowledged value {kv.value[:60]!r} at mod_revision "
            f"{kv.mod_revision}, not after the last acknowledged write at rev {floor}"
        )
        unacked_seen += 1

    # --- (4) unacknowledged txns and put_many batches are all-or-nothing
    for it in unacked:
        puts = [(b(op[1]), b(op[2])) for op in it["ops"] if op[0] == "put"]
        dels = [b(op[1]) for op in it["ops"] if op[0] == "delrange"]
        if len(it["ops"]) < 2:
            continue
        for i, (key, value) in enumerate(puts):
            kv = cur.get(key)
            if kv is None or kv.value != value:
                continue
            # This batch was committed: everything in it must be in history. A put_many
            # is one revision per pair, all in one WAL record.
            if it["kind"] == "put_many":
                first = kv.mod_revision - i
                expect = [(k, first + j, v) for j, (k, v) in enumerate(puts)]
                assert first + len(puts) - 1 <= rev, (
                    f"{where}: put_many {it['intent']} is partly committed (revision {rev})"
                )
            else:
                expect = [(k, kv.mod_revision, v) for k, v in puts]
            for k, r, v in expect:
                if r < cr:
                    continue
                kvs = store.range(k, revision=r).kvs
                assert kvs and kvs[0].value == v and kvs[0].mod_revision == r, (
                    f"{where}: {it['kind']} {it['intent']} is partly committed: {key!r} has "
                    f"its value at rev {kv.mod_revision} but {k!r} @ {r} is "
                    f"{[(x.value[:40], x.mod_revision) for x in kvs]}"
                )
            for k in dels:
                if kv.mod_revision < cr:
                    continue
                assert store.range(k, revision=kv.mod_revision).kvs == [], (
                    f"{where}: txn {it['intent']} committed but its delete of {k!r} is missing"
                )
            break

    # --- (5) status
    st = store.status()
    assert st.revision == rev, f"{where}: status().revision {st.revision} != {rev}"
    assert st.keys == len(cur), f"{where}: status().keys {st.keys} != {len(cur)} keys in range"
    assert st.db_size >= 0 and st.compact_revision == cr
    warnings = list(st.recovery_warnings)

    # --- new model
    model.revision = rev
    model.compact = cr
    model.state = {k: (kv.value, kv.mod_revision) for k, kv in cur.items()}
    model.history.extend(random.Random(rev).sample(acked, min(len(acked), 300)))
    return {
        "acked_calls": len(log.acks),
        "acked_ops": len(acked),
        "unacked_calls": len(unacked),
        "unacked_seen": unacked_seen,
        "revision": rev,
        "keys": len(cur),
        "compact": cr,
        "recovery_warnings": len(warnings),
    }


def test_sigkill_under_load(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data_dir = tmp_path / "data"
    out_dir = tmp_path / "logs"
    out_dir.mkdir()
    model = Model()
    total_acked = 0
    rounds_with_acks = 0
    torn_tails = 0
    t0 = time.monotonic()
    for round_no in range(ROUNDS):
        child_seed = SEED * 100 + round_no
        # Half the rounds snapshot (and drop WAL segments) often, while being killed.
        snap_bytes = rng.choice([0, rng.randrange(64 << 10, 2 << 20)])
        raw = run_child(data_dir, out_dir, round_no, child_seed, snap_bytes, rng)
        where = f"seed={SEED} round={round_no} child_seed={child_seed}"
        log = parse_log(raw)
        assert not log.errors, f"{where}: writer failed:\n{log.errors[0]}"
        if not data_dir.exists():
            assert not log.acks
            continue
        try:
            store = Store(data_dir)
        except Exception as e:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{where}: store does not reopen after SIGKILL: {e!r}") from e
        try:
            stats = check_round(store, model, log, where)
        finally:
            store.close()
        total_acked += stats["acked_ops"]
        torn_tails += stats["recovery_warnings"] > 0
        rounds_with_acks += stats["acked_ops"] > 0
        print(where, f"snapshot_wal_bytes={snap_bytes}", stats)
        if time.monotonic() - t0 > 60:
            break  # a slow machine: what was done is still a valid test
    assert rounds_with_acks >= min(ROUNDS, 5) // 2, "the writer hardly ever got a write through"
    assert total_acked > 0
    print(
        f"{torn_tails} recoveries truncated a torn tail; data dir: "
        f"{sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob('*'))}"
    )


# ------------------------------------------------------------------ WAL corruption


def wal_files(data_dir: Path) -> list[Path]:
    """The WAL segment files of a data dir, oldest first."""
    files = sorted(p for p in (data_dir / "wal").glob("*.wal") if p.is_file())
    assert files, f"no wal/*.wal under {data_dir}: {sorted(map(str, data_dir.rglob('*')))}"
    return files


def value_of(i: int) -> bytes:
    return b"value-%04d-" % i + b"y" * 100


def fill(data_dir: Path, n: int = 200, preallocated: bool = False) -> int:
    """Writes n keys, one put each, to a new durable store; returns its revision.

    With ``preallocated``, first waits until the store has moved to a preallocated
    (zero-filled) WAL segment, so the records are followed by zeros on disk.
    """
    store = Store(data_dir)
    try:
        if preallocated:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and wal_files(data_dir)[-1].stat().st_size < 1 << 20:
                time.sleep(0.02)
            assert wal_files(data_dir)[-1].stat().st_size >= 1 << 20, "no preallocated segment"
        for i in range(n):
            store.put(b"/registry/wal/k%04d" % i, value_of(i))
        return store.revision
    finally:
        store.close()


def find_in_wal(data_dir: Path, needle: bytes) -> tuple[Path, int]:
    for f in wal_files(data_dir):
        pos = f.read_bytes().find(needle)
        if pos >= 0:
            return f, pos
    raise AssertionError(f"{needle!r} not found in any WAL file (values not stored raw?)")


def check_keys(store: Store, n: int) -> None:
    kvs = store.range(b"/registry/wal/", b"/registry/wal0").kvs
    assert [kv.key for kv in kvs] == [b"/registry/wal/k%04d" % i for i in range(n)]
    assert all(kv.value == value_of(i) for i, kv in enumerate(kvs))


def record_offsets(data: bytes) -> tuple[list[int], int]:
    """Start offsets of the WAL records and where they end.

    Layout found in kubemu-store: frames ``len: u32 LE | crc32(len): u32 | crc32(body): u32 |
    body``,
    possibly followed by zeros (preallocated space).
    """
    out, pos = [], 0
    used = len(data.rstrip(b"\0"))  # the last record may itself end in zeros: start-based
    while pos + 12 <= len(data) and pos < used:
        out.append(pos)
        pos += 12 + int.from_bytes(data[pos : pos + 4], "little")
    assert pos <= len(data) and not data[pos:].strip(b"\0"), "not len|crc|crc|body frames"
    return out, pos


@pytest.mark.parametrize(
    "where",
    [
        "value",
        "crc",
        "length_low_bit",
        "length_high_byte",
        "length_crc",
    ],
)
@pytest.mark.parametrize("prealloc", [False, True], ids=["plain", "prealloc"])
def test_corrupt_byte_in_middle_of_wal_is_an_error(
    tmp_path: Path, where: str, prealloc: bool
) -> None:
    data_dir = tmp_path / "data"
    fill(data_dir, preallocated=prealloc)
    path, pos = find_in_wal(data_dir, value_of(100))
    data = bytearray(path.read_bytes())
    start = max(o for o in record_offsets(bytes(data))[0] if o < pos)  # record of value 100
    if where == "value":
        data[pos + 20] ^= 0xFF
    elif where == "crc":
        data[start + 8] ^= 0x10
    elif where == "length_crc":
        data[start + 4] ^= 0x10
    elif where == "length_low_bit":
        data[start] ^= 0x01
    else:
        data[start + 3] ^= 0x01  # +16 MiB: past the end of the file
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptionError) as ei:
        Store(data_dir).close()
    assert path.name in str(ei.value), f"error does not name {path.name}: {ei.value}"
    # Nothing was "repaired": the file is untouched, so the next open fails the same way.
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("damage", ["garbage", "truncate_last_record", "zero_last_record_end"])
@pytest.mark.parametrize("prealloc", [False, True], ids=["plain", "prealloc"])
def test_torn_tail_is_truncated(tmp_path: Path, damage: str, prealloc: bool) -> None:
    data_dir = tmp_path / "data"
    n = 200
    rev = fill(data_dir, n, preallocated=prealloc)
    path = wal_files(data_dir)[-1]
    data = bytearray(path.read_bytes())
    _, end = record_offsets(bytes(data))
    if damage == "garbage":
        # A few bytes of a record that never made it, right after the last good one
        # (over preallocated zeros, or appended when the file is not preallocated).
        data[end : end + 7] = bytes([0x5A, 0x13, 0xFF, 0x00, 0x42, 0x99, 0x07])
        path.write_bytes(bytes(data))
        kept = n
    else:
        last_path, pos = find_in_wal(data_dir, value_of(n - 1))
        assert last_path == path
        if damage == "truncate_last_record":
            os.truncate(path, pos + 30)  # the file ends inside the last record
        else:
            data[pos + 30 : end] = bytes(end - pos - 30)  # its end never hit the disk
            path.write_bytes(bytes(data))
        kept = n - 1
    store = Store(data_dir)
    try:
        check_keys(store, kept)
        assert store.revision == rev - (n - kept)
        warnings = store.status().recovery_warnings
        assert warnings, "a torn tail was truncated silently (no recovery_warnings)"
        # The store must write after the truncation point, not after the garbage.
        store.put(b"/registry/wal/k%04d" % kept, value_of(kept))
    finally:
        store.close()
    store = Store(data_dir)
    try:
        check_keys(store, kept + 1)
        assert store.revision == rev - (n - kept) + 1
    finally:
        store.close()
