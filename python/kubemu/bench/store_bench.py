"""Python-side benchmark of the kubemu store against a dict and a kine-like SQLite table.

Run::

    python -m kubemu.bench.store_bench [--quick] [--runs N] [--json FILE]

Every measurement is repeated ``--runs`` times (default 5) and reported as the median.
stdout gets one JSON object per line::

    {"bench": NAME, "unit": UNIT, "median": X, "runs": [...], "params": {...}}

and a short human summary goes to stderr at the end. The benchmarks of one run are
interleaved (run 1 of every bench, then run 2 ...), and the kubemu/sqlite and
kubemu/dict ratios are computed per run before taking their median, so they are
much steadier than the absolute numbers on a noisy shared machine.

Benchmarks:

* ``put_many_memory``: ``Store().put_many`` in batches of 1,000 pairs;
* ``put_many_durable``: the same on ``Store(tmpdir)`` (fsync on);
* ``dict_put``: ``d[k] = v`` in a loop (upper bound of any Python-side store);
* ``sqlite_kine_put``: a kine-like table in WAL mode, ``synchronous=FULL``, one
  transaction per batch of 1,000 rows;
* ``watch_distinct_keys``: 10,000 watches on distinct keys of one WatchStream,
  put_many over those keys, events/s delivered through ``poll`` (the clock runs
  from the first put_many until the last expected event was polled);
* ``watch_prefix``: 10,000 watches on one prefix, each put matches all of them;
* ``memory_ratio`` / ``memory_bytes_per_extra_revision``: RSS growth of a fresh
  subprocess holding 1,000,000 keys (~40-byte keys, 256-byte values) in memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubemu.bench.results import BenchResult
from kubemu.store import Store, WatchStream, prefix_end

Items = list[tuple[bytes, bytes]]

POD_KEY = b"/registry/pods/default/pod-%08d"
MEMORY_KEY = b"/registry/pods/default/memory-pod-%06d"  # 40 bytes
VALUE_SIZE = 256
BATCH = 1_000


# ----------------------------------------------------------------------------- results


@dataclass
class WatchRun:
    """Outcome of one watch-delivery run."""

    watchers: int
    expected: int
    delivered: int
    seconds: float
    canceled: int = 0

    @property
    def events_per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else float("inf")


# ------------------------------------------------------------------------------- data


def make_value(i: int, size: int = VALUE_SIZE, tag: int = 0) -> bytes:
    """A unique value of exactly ``size`` bytes (at least the 20-byte header)."""
    head = b"%010d|%08d|" % (i, tag)
    return head + b"v" * max(0, size - len(head))


def make_items(
    n: int, value_size: int = VALUE_SIZE, key_format: bytes = POD_KEY, start: int = 0
) -> Items:
    return [(key_format % i, make_value(i, value_size)) for i in range(start, start + n)]


def batches(items: Items, batch: int) -> list[Items]:
    return [items[i : i + batch] for i in range(0, len(items), batch)]


# ------------------------------------------------------------------------ put benches


def put_rate_store(store: Store, chunks: Sequence[Items], threads: int = 1) -> float:
    """puts/s of ``store.put_many`` over pre-built batches, from ``threads`` Python threads
    (each takes every threads-th batch; concurrent durable writers share fsyncs)."""
    n = sum(len(c) for c in chunks)
    put_many = store.put_many

    def work(part: Sequence[Items]) -> None:
        for chunk in part:
            put_many(chunk)

    workers = [threading.Thread(target=work, args=(chunks[i::threads],)) for i in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    return n / elapsed


def put_rate_memory(chunks: Sequence[Items]) -> float:
    store = Store()
    try:
        return put_rate_store(store, chunks)
    finally:
        store.close()


def put_rate_durable(
    chunks: Sequence[Items], base_dir: str | None = None, threads: int = 1
) -> float:
    with tempfile.TemporaryDirectory(prefix="kubemu-bench-", dir=base_dir) as tmp:
        store = Store(os.path.join(tmp, "data"), fsync=True)
        try:
            return put_rate_store(store, chunks, threads)
        finally:
            store.close()


def put_rate_dict(items: Items) -> float:
    d: dict[bytes, bytes] = {}
    t0 = time.perf_counter()
    for k, v in items:
        d[k] = v
    elapsed = time.perf_counter() - t0
    return len(items) / elapsed


class DictStore:
    """The smallest Python store: a dict behind a ``put`` method that counts
    revisions (no MVCC, no history, no watch) - what a pure-Python emulator
    would start from."""

    def __init__(self) -> None:
        self.data: dict[bytes, tuple[bytes, int]] = {}
        self.revision = 1

    def put(self, key: bytes, value: bytes) -> int:
        self.revision += 1
        self.data[key] = (value, self.revision)
        return self.revision


def put_rate_dict_store(items: Items) -> float:
    store = DictStore()
    put = store.put
    t0 = time.perf_counter()
    for k, v in items:
        put(k, v)
    elapsed = time.perf_counter() - t0
    return len(items) / elapsed


KINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS kine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    created INTEGER,
    deleted INTEGER,
    create_revision INTEGER,
    prev_revision INTEGER,
    lease INTEGER,
    value BLOB,
    old_value BLOB
);
CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name);
"""

KINE_INSERT = (
    "INSERT INTO kine (name, created, deleted, create_revision, prev_revision, lease, "
    "value, old_value) VALUES (?, 1, 0, 0, 0, 0, ?, NULL)"
)


def put_rate_sqlite(items: Items, batch: int = BATCH, base_dir: str | None = None) -> float:
    """puts/s of a kine-like SQLite table (WAL, synchronous=FULL, one txn per batch)."""
    rows = [[(k.decode(), v) for k, v in chunk] for chunk in batches(items, batch)]
    with tempfile.TemporaryDirectory(prefix="kubemu-bench-sqlite-", dir=base_dir) as tmp:
        conn = sqlite3.connect(os.path.join(tmp, "kine.db"), isolation_level=None)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(f"sqlite refused WAL mode: {mode}")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(KINE_SCHEMA)
            t0 = time.perf_counter()
            for chunk in rows:
                conn.execute("BEGIN")
                conn.executemany(KINE_INSERT, chunk)
                conn.execute("COMMIT")
            elapsed = time.perf_counter() - t0
        finally:
            conn.close()
    return len(items) / elapsed


# ---------------------------------------------------------------------- watch benches


def _drain(stream: WatchStream, want: int, deadline: float, counts: dict[str, int]) -> int:
    """Poll until ``want`` events arrived (or the deadline); returns the events seen."""
    got = 0
    while got < want:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        for resp in stream.poll(timeout=min(remaining, 1.0), max_responses=1 << 20):
            got += len(resp.events)
            if resp.canceled:
                counts["canceled"] += 1
            if resp.created:
                counts["created"] += 1
    return got


def _register(
    stream: WatchStream, n: int, key_range: Callable[[int], tuple[bytes, bytes | None]]
) -> None:
    for i in range(n):
        key, end = key_range(i)
        stream.watch(key, end)
    counts = {"created": 0, "canceled": 0}
    deadline = time.monotonic() + 60
    while counts["created"] < n and time.monotonic() < deadline:
        events = _drain(stream, 1, min(deadline, time.monotonic() + 0.05), counts)
        if events:
            raise RuntimeError("events before any put")
    if counts["created"] != n or counts["canceled"]:
        raise RuntimeError(f"registered {n} watches, got {counts} created/canceled")


def _deliver(
    store: Store,
    stream: WatchStream,
    steps: Sequence[Items],
    events_per_pair: int,
    watchers: int,
    timeout: float,
) -> WatchRun:
    counts = {"created": 0, "canceled": 0}
    expected = 0
    delivered = 0
    deadline = time.monotonic() + timeout
    t0 = time.perf_counter()
    for step in steps:
        store.put_many(step)
        expected += len(step) * events_per_pair
        delivered += _drain(stream, expected - delivered, deadline, counts)
    seconds = time.perf_counter() - t0
    # Anything more (duplicates) shows up here; a correct store has nothing left.
    delivered += _drain(stream, 1, time.monotonic() + 0.05, counts)
    return WatchRun(watchers, expected, delivered, seconds, counts["canceled"])


def watch_distinct_keys(
    watchers: int = 10_000,
    rounds: int = 3,
    batch: int = BATCH,
    value_size: int = VALUE_SIZE,
    timeout: float = 120.0,
) -> WatchRun:
    """``watchers`` watches on distinct keys; every key is put ``rounds`` times."""
    keys = [b"/registry/pods/watch/pod-%08d" % i for i in range(watchers)]
    steps: list[Items] = []
    for r in range(rounds):
        steps.extend(
            batches([(k, make_value(i, value_size, r)) for i, k in enumerate(keys)], batch)
        )
    store = Store()
    try:
        stream = store.watch_stream(max_pending_events=max(65_536, 4 * batch))
        try:
            _register(stream, watchers, lambda i: (keys[i], None))
            return _deliver(store, stream, steps, 1, watchers, timeout)
        finally:
            stream.close()
    finally:
        store.close()


def watch_prefix(
    watchers: int = 10_000,
    puts: int = 20,
    value_size: int = VALUE_SIZE,
    timeout: float = 120.0,
) -> WatchRun:
    """``watchers`` watches on one prefix; each of ``puts`` puts matches all of them."""
    prefix = b"/registry/pods/prefix/"
    end = prefix_end(prefix)
    per_step = max(1, 32_768 // watchers)  # puts per put_many: <= 32k events in flight
    items = make_items(puts, value_size, prefix + b"pod-%08d")
    steps = batches(items, per_step)
    store = Store()
    try:
        stream = store.watch_stream(max_pending_events=max(65_536, 4 * per_step * watchers))
        try:
            _register(stream, watchers, lambda i: (prefix, end))
            return _deliver(store, stream, steps, watchers, watchers, timeout)
        finally:
            stream.close()
    finally:
        store.close()


# ----------------------------------------------------------------------------- memory


def rss_bytes() -> int:
    """Current resident set size (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def memory_profile(n_keys: int, value_size: int = VALUE_SIZE, chunk: int = BATCH) -> dict[str, Any]:
    """Run in a FRESH process: RSS growth of an in-memory store of ``n_keys`` keys."""

    def fill(store: Store, tag: int) -> int:
        raw = 0
        for start in range(0, n_keys, chunk):
            items = [
                (MEMORY_KEY % i, make_value(i, value_size, tag))
                for i in range(start, min(n_keys, start + chunk))
            ]
            raw += sum(len(k) + len(v) for k, v in items)
            store.put_many(items)
        return raw

    # Warm up the allocator with the same transient Python objects as the loop uses.
    warm = [(MEMORY_KEY % i, make_value(i, value_size)) for i in range(chunk)]
    del warm
    store = Store()
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    raw = fill(store, 0)
    t1 = time.perf_counter()
    gc.collect()
    rss1 = rss_bytes()
    fill(store, 1)
    gc.collect()
    rss2 = rss_bytes()
    revision = store.revision
    store.close()
    return {
        "keys": n_keys,
        "raw_bytes": raw,
        "rss_before": rss0,
        "rss_after_first_put": rss1,
        "rss_after_second_revision": rss2,
        "ratio": (rss1 - rss0) / raw,
        "bytes_per_extra_revision": (rss2 - rss1) / n_keys,
        "fill_puts_per_s": n_keys / (t1 - t0),
        "revision": revision,
    }


def memory_profile_subprocess(n_keys: int, value_size: int = VALUE_SIZE) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "kubemu.bench.store_bench", "--memory-child", str(n_keys)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "KUBEMU_BENCH_VALUE_SIZE": str(value_size)},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------ driver


@dataclass
class Config:
    puts: int = 200_000
    batch: int = BATCH
    value_size: int = VALUE_SIZE
    watchers: int = 10_000
    watch_rounds: int = 10
    prefix_puts: int = 50
    memory_keys: int = 1_000_000
    memory_runs: int = 3

    @staticmethod
    def quick() -> Config:
        return Config(
            puts=50_000, watch_rounds=3, prefix_puts=10, memory_keys=200_000, memory_runs=1
        )


def _ratio(a: BenchResult, b: BenchResult, name: str) -> BenchResult:
    return BenchResult(
        name,
        "x",
        [x / y for x, y in zip(a.runs, b.runs, strict=True)],
        {"numerator": a.bench, "denominator": b.bench, "per_run": True},
    )


def run_all(
    cfg: Config,
    runs: int,
    log: Callable[[str], None] = lambda s: None,
    base_dir: str | None = None,
) -> list[BenchResult]:
    items = make_items(cfg.puts, cfg.value_size)
    chunks = batches(items, cfg.batch)
    put_params = {
        "puts": cfg.puts,
        "batch": cfg.batch,
        "value_size": cfg.value_size,
        "key": POD_KEY.decode(),
    }
    mem = BenchResult("put_many_memory", "puts/s", params=dict(put_params))
    dur = BenchResult("put_many_durable", "puts/s", params={**put_params, "fsync": True})
    dur4 = BenchResult(
        "put_many_durable_4_threads",
        "puts/s",
        params={**put_params, "fsync": True, "threads": 4},
    )
    dct = BenchResult("dict_put", "puts/s", params=dict(put_params))
    dst = BenchResult("dict_store_put", "puts/s", params=dict(put_params))
    sql = BenchResult(
        "sqlite_kine_put",
        "puts/s",
        params={**put_params, "journal_mode": "WAL", "synchronous": "FULL"},
    )
    wk = BenchResult(
        "watch_distinct_keys",
        "events/s",
        params={"watchers": cfg.watchers, "rounds": cfg.watch_rounds, "batch": cfg.batch},
    )
    wp = BenchResult(
        "watch_prefix", "events/s", params={"watchers": cfg.watchers, "puts": cfg.prefix_puts}
    )
    # One untimed warm-up: the first stores of a fresh process pay its page faults, which
    # the long-running emulator pays once; the runs measure the steady state.
    put_rate_memory(chunks)
    put_rate_durable(chunks, base_dir)
    for run in range(runs):
        log(f"run {run + 1}/{runs}")
        mem.runs.append(put_rate_memory(chunks))
        dur.runs.append(put_rate_durable(chunks, base_dir))
        dur4.runs.append(put_rate_durable(chunks, base_dir, threads=4))
        dct.runs.append(put_rate_dict(items))
        dst.runs.append(put_rate_dict_store(items))
        sql.runs.append(put_rate_sqlite(items, cfg.batch, base_dir))
        for result, w in (
            (wk, watch_distinct_keys(cfg.watchers, cfg.watch_rounds, cfg.batch, cfg.value_size)),
            (wp, watch_prefix(cfg.watchers, cfg.prefix_puts, cfg.value_size)),
        ):
            if w.delivered != w.expected or w.canceled:
                raise RuntimeError(f"{result.bench}: {w}")
            result.runs.append(w.events_per_second)
            result.params["events_per_run"] = w.expected
    memr = BenchResult(
        "memory_ratio",
        "rss/raw",
        params={
            "keys": cfg.memory_keys,
            "key_bytes": len(MEMORY_KEY % 0),
            "value_size": cfg.value_size,
        },
    )
    memx = BenchResult("memory_bytes_per_extra_revision", "bytes/rev", params=dict(memr.params))
    for run in range(cfg.memory_runs):
        log(f"memory run {run + 1}/{cfg.memory_runs}")
        prof = memory_profile_subprocess(cfg.memory_keys, cfg.value_size)
        memr.runs.append(prof["ratio"])
        memx.runs.append(prof["bytes_per_extra_revision"])
        memr.params["raw_bytes"] = prof["raw_bytes"]
        memr.params.setdefault("rss_growth_bytes", []).append(
            prof["rss_after_first_put"] - prof["rss_before"]
        )
    return [
        mem,
        dur,
        dur4,
        dct,
        dst,
        sql,
        _ratio(mem, sql, "ratio_memory_over_sqlite"),
        _ratio(dur, sql, "ratio_durable_over_sqlite"),
        _ratio(dur4, sql, "ratio_durable_4_threads_over_sqlite"),
        _ratio(mem, dct, "ratio_memory_over_dict"),
        _ratio(dur, dct, "ratio_durable_over_dict"),
        _ratio(mem, dst, "ratio_memory_over_dict_store"),
        wk,
        wp,
        memr,
        memx,
    ]


def summary(results: Sequence[BenchResult]) -> str:
    by = {r.bench: r for r in results}
    lines = ["store_bench summary (medians):"]
    for r in results:
        if r.unit == "x":
            continue
        lines.append(f"  {r.bench:34s} {r.median:>14,.1f} {r.unit}")
    lines.append("  ratios from the same runs:")
    for name in (
        "ratio_memory_over_sqlite",
        "ratio_durable_over_sqlite",
        "ratio_memory_over_dict",
        "ratio_durable_over_dict",
    ):
        if name in by:
            lines.append(f"  {name:34s} {by[name].median:>14.3f} x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubemu.bench.store_bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (< 30 s)")
    parser.add_argument("--runs", type=int, default=5, help="runs per bench (median)")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    parser.add_argument("--dir", metavar="DIR", help="where durable stores are created")
    parser.add_argument("--memory-child", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        value_size = int(os.environ.get("KUBEMU_BENCH_VALUE_SIZE", VALUE_SIZE))
        print(json.dumps(memory_profile(args.memory_child, value_size)))
        return 0
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    cfg = Config.quick() if args.quick else Config()
    cfg.memory_runs = min(cfg.memory_runs, args.runs)

    def log(msg: str) -> None:
        print(f"# {msg}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    results = run_all(cfg, args.runs, log, args.dir)
    for r in results:
        print(json.dumps(r.to_json()), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps([r.to_json() for r in results], indent=1) + "\n", encoding="utf-8"
        )
    print(summary(results), file=sys.stderr)
    print(f"# total {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
