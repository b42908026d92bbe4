"""Results in scheduler_perf's shape, the threshold check, the summary table and the plot.

The JSON document is what upstream's ``BenchmarkPerfScheduling`` writes (and perf-dash reads)::

    {"version": "v1", "dataItems": [
      {"data": {"Average": …, "Perc50": …, "Perc90": …, "Perc95": …, "Perc99": …},
       "unit": "pods/s",
       "labels": {"Metric": "SchedulingThroughput", "Name": "<test>/<workload>"}},
      {"data": {…}, "unit": "ms",
       "labels": {"Metric": "scheduler_scheduling_attempt_duration_seconds",
                  "Name": "<test>/<workload>", "profile": …, "result": …}},
      …]}

Percentiles of throughput samples are upstream's (sorted samples, index ceil(n*p/100)-1); those of
the histograms are interpolated in the buckets, as upstream's testutil ``Quantile`` does, in ms.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from kubemu.bench.scheduler_perf.runner import Histogram, Measurement, WorkloadResult

__all__ = [
    "PERCENTILES",
    "data_items",
    "histogram_item",
    "plot",
    "quantile",
    "summary_table",
    "throughput_item",
    "to_json",
    "verdict",
]

PERCENTILES: Final = (50, 90, 95, 99)

Obj = dict[str, Any]


def throughput_item(name: str, samples: Sequence[float]) -> Obj:
    """SchedulingThroughput of ``samples`` (pods/s), as upstream's throughputCollector."""
    labels = {"Metric": "SchedulingThroughput", "Name": name}
    if not samples:
        return {"data": {}, "unit": "pods/s", "labels": labels}
    s = sorted(samples)
    n = len(s)
    data = {"Average": sum(s) / n}
    for p in PERCENTILES:
        data[f"Perc{p}"] = s[math.ceil(n * p / 100) - 1]
    return {"data": data, "unit": "pods/s", "labels": labels}


def quantile(q: float, h: Histogram) -> float:
    """The ``q`` quantile of ``h`` (seconds), interpolated linearly in its bucket."""
    if h.count <= 0 or not h.buckets:
        return math.nan
    rank = q * h.count
    prev_le, prev_count = 0.0, 0.0
    for le, count in h.buckets:
        if count >= rank:
            if math.isinf(le):
                return prev_le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


def histogram_item(name: str, metric: str, labels: Sequence[tuple[str, str]], h: Histogram) -> Obj:
    data = {"Average": h.sum / h.count * 1000.0 if h.count else math.nan}
    for p in PERCENTILES:
        data[f"Perc{p}"] = quantile(p / 100.0, h) * 1000.0
    return {"data": data, "unit": "ms", "labels": {"Metric": metric, "Name": name, **dict(labels)}}


def data_items(result: WorkloadResult) -> list[Obj]:
    items: list[Obj] = []
    for m in result.measurements:
        items.append(throughput_item(result.name, m.throughputs))
        for (metric, labels), h in sorted(m.histograms.items()):
            items.append(histogram_item(result.name, metric, labels, h))
    return items


def to_json(results: Sequence[WorkloadResult]) -> Obj:
    items: list[Obj] = []
    for r in results:
        items.extend(data_items(r))
    return {"version": "v1", "dataItems": items}


def verdict(result: WorkloadResult) -> str | None:
    """``PASS``/``FAIL`` line for a workload with a threshold (None without one). A failed run
    or a measurement without samples fails."""
    if result.threshold is None:
        return None
    if result.error is not None:
        return f"FAIL {result.name}: run failed: {result.error}"
    if not result.measurements:
        return f"FAIL {result.name}: no collectMetrics op measured"
    for m in result.measurements:
        avg = _average(m)
        if avg is None or avg < result.threshold:
            got = "no samples" if avg is None else f"{avg:.1f} pods/s"
            return (
                f"FAIL {result.name}: SchedulingThroughput Average {got} < threshold "
                f"{result.threshold:g}"
            )
    worst = min(a for m in result.measurements if (a := _average(m)) is not None)
    return (
        f"PASS {result.name}: SchedulingThroughput Average {worst:.1f} pods/s >= threshold "
        f"{result.threshold:g}"
    )


def _average(m: Measurement) -> float | None:
    return sum(m.throughputs) / len(m.throughputs) if m.throughputs else None


def _fmt(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:,.1f}"


def summary_table(results: Sequence[WorkloadResult]) -> str:
    """One row per measurement: throughput figures, overall pods/s, attempt latency."""
    head = (
        "workload",
        "nodes",
        "pods",
        "measured",
        "avg/s",
        "p50/s",
        "p90/s",
        "p99/s",
        "overall/s",
        "attempt avg ms",
        "sli p99 ms",
        "threshold",
        "verdict",
    )
    rows: list[tuple[str, ...]] = []
    for r in results:
        v = verdict(r)
        verdict_word = v.split(" ", 1)[0] if v else ("ERROR" if r.error else "-")
        threshold = f"{r.threshold:g}" if r.threshold is not None else "-"
        if not r.measurements:
            rows.append(
                (r.name, str(r.nodes), str(r.pods), "-", *["-"] * 7, threshold, verdict_word)
            )
            continue
        for m in r.measurements:
            t = throughput_item(r.name, m.throughputs)["data"]
            attempt = _hist_avg(m, HIST_ATTEMPT, "scheduled")
            sli = _hist_p99(m, HIST_SLI)
            rows.append(
                (
                    r.name,
                    str(r.nodes),
                    str(r.pods),
                    str(m.pods),
                    _fmt(t.get("Average")),
                    _fmt(t.get("Perc50")),
                    _fmt(t.get("Perc90")),
                    _fmt(t.get("Perc99")),
                    _fmt(m.overall),
                    "-" if attempt is None else f"{attempt:.3f}",
                    _fmt(sli),
                    threshold,
                    verdict_word,
                )
            )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for r in results:
        if r.error:
            lines.append(f"error {r.name}: {r.error}")
        for note in r.notes:
            lines.append(f"note: {note}")
    return "\n".join(lines)


HIST_ATTEMPT: Final = "scheduler_scheduling_attempt_duration_seconds"
HIST_SLI: Final = "scheduler_pod_scheduling_sli_duration_seconds"


def _hist_avg(m: Measurement, metric: str, result: str) -> float | None:
    count = total = 0.0
    for (name, labels), h in m.histograms.items():
        if name == metric and dict(labels).get("result") == result:
            count += h.count
            total += h.sum
    return total / count * 1000.0 if count else None


def _hist_p99(m: Measurement, metric: str) -> float | None:
    merged: dict[float, float] = {}
    count = total = 0.0
    for (name, _labels), h in m.histograms.items():
        if name != metric:
            continue
        count += h.count
        total += h.sum
        for le, c in h.buckets:
            merged[le] = merged.get(le, 0.0) + c
    if not count:
        return None
    return quantile(0.99, Histogram(sorted(merged.items()), count, total)) * 1000.0


def plot(results: Sequence[WorkloadResult], path: str | Path) -> str | None:
    """Throughput over time (per-second samples of every measurement) as a PNG at ``path``.
    Returns None when written, else why not (matplotlib missing, nothing measured)."""
    series = [(r, m) for r in results for m in r.measurements if len(m.samples) > 0]
    if not series:
        return "no throughput samples to plot"
    try:  # optional: not a dependency of kubemu
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return "matplotlib is not installed: no plot (pip install matplotlib)"
    fig, ax = plt.subplots(figsize=(9, 5))
    for r, m in series:
        xs: list[float] = []
        ys: list[float] = []
        last_t, last_n = 0.0, 0
        for t, n in m.samples:
            if t > last_t:
                xs.append(t)
                ys.append((n - last_n) / (t - last_t))
            last_t, last_n = t, n
        label = r.name if len(r.measurements) == 1 else f"{r.name} (op {m.op})"
        ax.plot(xs, ys, marker="o", label=label)
        if r.threshold is not None:
            ax.axhline(r.threshold, linestyle="--", linewidth=0.8, color="grey")
    ax.set_xlabel("seconds since the measured op started")
    ax.set_ylabel("pods scheduled per second")
    ax.set_title("kubemu scheduler-perf: SchedulingThroughput")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(str(path), dpi=100)
    plt.close(fig)
    return None
