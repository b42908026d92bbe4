"""Behaviour check of kubemu.bench.store_bench at a tiny size (not a timing check)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from kubemu.bench import store_bench as sb
from kubemu.store import Store, prefix_end

N = 2_000
WATCHERS = 100


def test_items_are_unique_and_sized() -> None:
    items = sb.make_items(N)
    assert len({k for k, _ in items}) == N
    assert len({v for _, v in items}) == N
    assert all(len(v) == sb.VALUE_SIZE for _, v in items)
    assert len(sb.MEMORY_KEY % 0) == 40


@pytest.mark.parametrize("which", ["memory", "durable", "dict", "sqlite"])
def test_put_rates(which: str, tmp_path: Path) -> None:
    items = sb.make_items(N)
    chunks = sb.batches(items, 500)
    if which == "memory":
        rate = sb.put_rate_memory(chunks)
    elif which == "durable":
        rate = sb.put_rate_durable(chunks, str(tmp_path))
    elif which == "dict":
        rate = sb.put_rate_dict(items)
    else:
        rate = sb.put_rate_sqlite(items, 500, str(tmp_path))
    assert math.isfinite(rate) and rate > 0


def test_put_rate_store_writes_everything() -> None:
    items = sb.make_items(N)
    store = Store()
    try:
        sb.put_rate_store(store, sb.batches(items, 300))
        assert store.revision == 1 + N  # one revision per pair, from 1
        resp = store.range(b"/registry/pods/", prefix_end(b"/registry/pods/"))
        assert [(kv.key, kv.value) for kv in resp.kvs] == items
    finally:
        store.close()


def test_watch_distinct_keys_delivers_every_event() -> None:
    run = sb.watch_distinct_keys(watchers=WATCHERS, rounds=2, batch=30, timeout=30)
    assert run.expected == 2 * WATCHERS
    assert run.delivered == run.expected
    assert run.canceled == 0
    assert run.events_per_second > 0


def test_watch_prefix_delivers_every_event() -> None:
    run = sb.watch_prefix(watchers=WATCHERS, puts=7, timeout=30)
    assert run.expected == 7 * WATCHERS
    assert run.delivered == run.expected
    assert run.canceled == 0


def test_memory_profile_in_subprocess() -> None:
    prof = sb.memory_profile_subprocess(20_000)
    assert prof["keys"] == 20_000
    assert prof["raw_bytes"] == 20_000 * (40 + sb.VALUE_SIZE)
    assert prof["revision"] == 1 + 40_000
    assert prof["rss_after_first_put"] >= prof["rss_before"] > 0
    assert math.isfinite(prof["ratio"])


def test_run_all_and_main_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = sb.Config(
        puts=N,
        batch=500,
        watchers=WATCHERS,
        watch_rounds=1,
        prefix_puts=3,
        memory_keys=5_000,
        memory_runs=1,
    )
    results = sb.run_all(cfg, runs=2, base_dir=str(tmp_path))
    names = [r.bench for r in results]
    for name in (
        "put_many_memory",
        "put_many_durable",
        "put_many_durable_4_threads",
        "dict_put",
        "dict_store_put",
        "sqlite_kine_put",
        "ratio_memory_over_sqlite",
        "ratio_memory_over_dict",
        "watch_distinct_keys",
        "watch_prefix",
        "memory_ratio",
        "memory_bytes_per_extra_revision",
    ):
        assert name in names
    for r in results:
        doc = json.loads(json.dumps(r.to_json()))
        assert set(doc) == {"bench", "unit", "median", "runs", "params"}
        assert len(doc["runs"]) == (1 if r.bench.startswith("memory") else 2)
        if not r.bench.startswith("memory"):
            assert doc["median"] > 0
    by = {r.bench: r for r in results}
    assert by["watch_distinct_keys"].params["events_per_run"] == WATCHERS
    assert by["watch_prefix"].params["events_per_run"] == 3 * WATCHERS
    assert sb.summary(results).startswith("store_bench summary")


def test_dict_store_baseline_counts_revisions() -> None:
    store = sb.DictStore()
    assert [store.put(b"a", b"1"), store.put(b"a", b"2")] == [2, 3]
    assert store.data == {b"a": (b"2", 3)}
