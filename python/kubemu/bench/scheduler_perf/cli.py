"""``kubemu bench scheduler-perf CONFIG [--workload NAME] [--output FILE] [--quick]``.

Runs every workload of every test case in CONFIG (a scheduler_perf workload file; ``shipped``
or a bare file name such as ``performance-config.yaml`` picks one shipped with kubemu), each on
a fresh apiserver and scheduler. ``--workload`` selects by workload name (``5000Nodes``), test
case (``SchedulingBasic``) or both (``SchedulingBasic/5000Nodes``); ``--quick`` runs only each
test case's smallest workload. stdout gets the scheduler_perf JSON document (one line); stderr
a summary table and one PASS/FAIL line per workload with a threshold. ``--output FILE`` writes
the JSON there too, and the throughput plot next to it (``FILE`` with ``.png``) unless
``--plot``/``--no-plot`` say otherwise. Exit status 1 if a workload failed or missed its
threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from kubemu.bench.scheduler_perf.config import ConfigError, TestCase, Workload, load_config
from kubemu.bench.scheduler_perf.report import plot, summary_table, to_json, verdict
from kubemu.bench.scheduler_perf.runner import RunOptions, WorkloadResult, run_workload
from kubemu.bench.scheduler_perf.templates import shipped_config

__all__ = ["main", "resolve_config", "select"]


def resolve_config(name: str) -> Path:
    """A path, or the name of a shipped config (``shipped`` = performance-config.yaml)."""
    p = Path(name)
    if p.is_file():
        return p
    if name == "shipped":
        return shipped_config()
    if "/" not in name:
        try:
            return shipped_config(name)
        except ConfigError:
            pass
    raise ConfigError(f"{name}: no such file (nor a shipped config)")


def _size(w: Workload) -> float:
    return sum(float(v) for v in w.params.values() if isinstance(v, int | float))


def select(
    cases: Sequence[TestCase], name: str | None, quick: bool
) -> list[tuple[TestCase, Workload]]:
    out: list[tuple[TestCase, Workload]] = []
    for case in cases:
        workloads = list(case.workloads)
        if name:
            want_case, _, want_wl = name.partition("/")
            if want_wl:
                workloads = [w for w in workloads if case.name == want_case and w.name == want_wl]
            elif want_case != case.name:
                workloads = [w for w in workloads if w.name == name]
        if quick and workloads:
            workloads = [min(workloads, key=_size)]
        out.extend((case, w) for w in workloads)
    return out


def run_event_loop(main: Callable[[], Awaitable[Any]]) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main())  # type: ignore[arg-type]
    return uvloop.run(main())  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kubemu bench scheduler-perf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", metavar="CONFIG", help="workload file, or a shipped one")
    parser.add_argument("--workload", metavar="NAME", help="run only this workload / test case")
    parser.add_argument("--output", metavar="FILE", help="write the JSON document here too")
    parser.add_argument("--quick", action="store_true", help="each test case's smallest workload")
    parser.add_argument("--plot", metavar="FILE", help="throughput plot PNG (needs matplotlib)")
    parser.add_argument("--no-plot", action="store_true", help="no plot")
    parser.add_argument("--seed", type=int, default=0, help="scheduler and label seed")
    parser.add_argument("--batch-size", type=int, default=500, help="pods per scheduling batch")
    parser.add_argument("--sample-interval", type=float, default=1.0, help="seconds (1 upstream)")
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=120.0,
        help="give up a wait after this many seconds without a pod bound",
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args(argv)
    try:
        path = resolve_config(args.config)
        cases = load_config(path)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    chosen = select(cases, args.workload, args.quick)
    if args.list:
        for case, w in chosen:
            t = f" threshold={w.threshold:g}" if w.threshold is not None else ""
            print(f"{case.name}/{w.name} {json.dumps(dict(w.params))}{t}")
        return 0
    if not chosen:
        print(f"error: no workload matches {args.workload!r} in {path}", file=sys.stderr)
        return 2
    opts = RunOptions(
        seed=args.seed,
        batch_size=args.batch_size,
        sample_interval=args.sample_interval,
        stall_timeout=args.stall_timeout,
    )
    results: list[WorkloadResult] = []
    for case, w in chosen:
        print(
            f"running {case.name}/{w.name} {json.dumps(dict(w.params))}",
            file=sys.stderr,
            flush=True,
        )

        def one(c: TestCase = case, wl: Workload = w) -> Awaitable[WorkloadResult]:
            return run_workload(c, wl, opts)

        try:
            r: WorkloadResult = run_event_loop(one)
        except ConfigError as e:
            r = WorkloadResult(case.name, w.name, w.threshold, error=str(e))
        results.append(r)
    doc = to_json(results)
    print(json.dumps(doc), flush=True)
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=2) + "\n")
    print(summary_table(results), file=sys.stderr)
    failed = False
    for r in results:
        v = verdict(r)
        if v is not None:
            print(v, file=sys.stderr)
            failed = failed or v.startswith("FAIL")
        elif r.error is not None:
            failed = True
    plot_path = args.plot or (str(Path(args.output).with_suffix(".png")) if args.output else None)
    if plot_path and not args.no_plot:
        why = plot(results, plot_path)
        print(f"plot: {why}" if why else f"plot: {plot_path}", file=sys.stderr)
    return 1 if failed else 0
