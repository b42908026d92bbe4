"""Results of ``kubemu bench apiserver``: figures recorded per run (:data:`Record`), one
:class:`BenchResult` per benchmark (median over runs, printed as a JSON line), the parameters
each carries, the issue's targets and the human summary."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from kubemu.bench.apiserver_workload import BATCH, WATCH_QUEUE, Sizes
from kubemu.bench.results import BenchResult

Record = Callable[[str, str, float, dict[str, float] | None], None]
"""``record(bench, unit, value, extra)``: one run's figure (and extra figures) of a benchmark."""


def params(sizes: Sizes) -> dict[str, Any]:
    """The parameters every result of a run carries (its "params" field)."""
    return {
        "seconds": sizes.seconds,
        "batch": BATCH,
        "create_many": sizes.create_many,
        "watchers": sizes.nodes + 1,
        "watch_pods": sizes.watch_pods,
        "list_pods": sizes.list_pods,
        "leases": sizes.leases,
        "watch_queue": WATCH_QUEUE,
        "multiplex": sizes.multiplex,
        "tune_gc": sizes.tune_gc,
        "clients": list(sizes.clients),
    }


TARGETS: dict[str, tuple[str, float]] = {
    "create_many": (">=", 50_000),
    "watch": (">=", 100_000),
    "list_raw": ("<=", 1.0),
    "list_decoded": ("<=", 1.0),
    "create_c": (">=", 5_000),
    "get_c": (">=", 5_000),
    "update_c": (">=", 5_000),
}


def verdict(res: BenchResult) -> str:
    """The issue's target for ``res`` (the first of :data:`TARGETS` in its name) and whether
    its median meets it; "" when it has none."""
    for suffix, (op, target) in TARGETS.items():
        if suffix in res.bench:
            ok = res.median >= target if op == ">=" else res.median <= target
            return f"  (target {op} {target:,g}: {'ok' if ok else 'SHORT'})"
    return ""


def summary(results: dict[str, BenchResult]) -> str:
    lines = ["apiserver benchmark (medians of runs):"]
    for res in results.values():
        extra = "".join(
            f"  {k} {statistics.median(v):.2f}"
            for k, v in res.extra.items()
            if k not in ("items", "delivered")
        )
        lines.append(f"  {res.bench:28s} {res.median:14,.3f} {res.unit}{extra}{verdict(res)}")
    return "\n".join(lines)
