"""Results of kubemu.bench.apiserver_bench (kubemu.bench.apiserver_report): medians over runs,
the JSON line of a benchmark, targets met or short, and the summary."""

from __future__ import annotations

import math

from kubemu.bench.apiserver_report import params, summary, verdict
from kubemu.bench.apiserver_workload import Sizes
from kubemu.bench.results import BenchResult


def test_json_line_carries_medians_of_runs_and_extras() -> None:
    res = BenchResult("grpc_get_c8", "requests/s", [3.0, 1.0, 2.12345], params={"seconds": 1})
    res.extra = {"p99_ms": [5.0, 9.0, 7.0], "dropped": []}
    doc = res.to_json()
    assert doc == {
        "bench": "grpc_get_c8",
        "unit": "requests/s",
        "median": 2.1235,
        "runs": [3.0, 1.0, 2.1235],
        "p99_ms": 7.0,
        "dropped": None,
        "params": {"seconds": 1},
    }
    assert math.isnan(BenchResult("x", "s").median)


def test_verdict_against_targets() -> None:
    assert "ok" in verdict(BenchResult("grpc_create_many", "pods/s", [60_000.0]))
    assert "SHORT" in verdict(BenchResult("grpc_create_many", "pods/s", [40_000.0]))
    assert "ok" in verdict(BenchResult("inprocess_list_raw", "s", [0.5]))  # lower is better
    assert "SHORT" in verdict(BenchResult("inprocess_list_raw", "s", [1.5]))
    assert verdict(BenchResult("grpc_lean_something", "x", [1.0])) == ""


def test_summary_and_params() -> None:
    res = BenchResult(
        "grpc_watch", "events/s", [150_000.0], extra={"delivered": [5.0], "dropped": [0]}
    )
    text = summary({"grpc_watch": res})
    assert text.startswith("apiserver benchmark")
    assert "150,000.000 events/s" in text and "dropped 0.00" in text
    assert "delivered" not in text and "target >= 100,000: ok" in text
    p = params(Sizes.quick())
    assert p["watchers"] == Sizes.quick().nodes + 1 and p["batch"] == 1_000
