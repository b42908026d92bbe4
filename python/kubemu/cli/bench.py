"""``kubemu bench``: benchmarks that print machine-readable results.

Each benchmark is a module with ``main(argv) -> int``; ``kubemu bench NAME ARGS...`` hands it
the remaining arguments (imported only when run).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

# name → (module with main(argv), help, the options its main takes)
BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "store": (
        "kubemu.bench.store_bench",
        "the store from Python: puts (memory, durable) vs dict and SQLite, watch, memory",
        "--quick, --runs N, --json FILE",
    ),
    "etcd": (
        "kubemu.bench.etcd_bench",
        "the etcd endpoint vs real etcd through an independent client (put, txn-put, range)",
        "--runs N, --seconds S, --clients 1,100,1000, --ops put,txn-put,range, --json FILE",
    ),
    "apiserver": (
        "kubemu.bench.apiserver_bench",
        "the apiserver in-process and over gRPC (client in a separate process): single "
        "get/create/update, create_many, bind_many, field-selected watch, LIST of 100k pods",
        "--quick, --runs N, --modes inprocess,grpc, --seconds S, --only NAMES, --json FILE",
    ),
    "scheduler-perf": (
        "kubemu.bench.scheduler_perf",
        "scheduler_perf workload files (SchedulingBasic, ...) against an in-process "
        "apiserver and the scheduler: throughput, attempt latency, threshold check",
        "CONFIG, --workload NAME, --output FILE, --quick, --plot FILE, --list",
    ),
    "scheduler-core": (
        "kubemu.bench.scheduler_core_bench",
        "the Rust scheduling core (schedule_batch) vs the Python reference of the same plugins "
        "on one generated cluster: pods/s of each and their ratio (run from a checkout)",
        "--nodes N, --pods P, --reference-pods K, --pct 0,100, --runs R, --seed S, "
        "--reference DIR, --no-reference, --json FILE",
    ),
}


def _runner(module: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        code: int = importlib.import_module(module).main(args.rest)
        return code

    return run


def register(groups: Any) -> None:
    bench = groups.add_parser("bench", help="run benchmarks")
    which = bench.add_subparsers(dest="bench", metavar="BENCHMARK")
    which.required = True
    for name, (module, help_text, options) in BENCHMARKS.items():
        parser = which.add_parser(
            name,
            help=help_text,
            description=f"Options are those of python -m {module} ({options}).",
            add_help=False,
        )
        parser.set_defaults(handler=_runner(module), accepts_rest=True)
