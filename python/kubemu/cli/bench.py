"""``kubemu bench``: benchmarks that print machine-readable results."""

from __future__ import annotations

import argparse
from typing import Any


def _store(args: argparse.Namespace) -> int:
    from kubemu.bench import store_bench

    code: int = store_bench.main(args.rest)
    return code


def _etcd(args: argparse.Namespace) -> int:
    from kubemu.bench import etcd_bench

    code: int = etcd_bench.main(args.rest)
    return code


def _apiserver(args: argparse.Namespace) -> int:
    from kubemu.bench import apiserver_bench

    code: int = apiserver_bench.main(args.rest)
    return code


def _scheduler_perf(args: argparse.Namespace) -> int:
    from kubemu.bench.scheduler_perf import cli

    code: int = cli.main(args.rest)
    return code


def register(groups: Any) -> None:
    bench = groups.add_parser("bench", help="run benchmarks")
    which = bench.add_subparsers(dest="bench", metavar="BENCHMARK")
    which.required = True
    store = which.add_parser(
        "store",
        help="the store from Python: puts (memory, durable) vs dict and SQLite, watch, memory",
        description="Options are those of python -m kubemu.bench.store_bench (--quick, --runs N, "
        "--json FILE).",
        add_help=False,
    )
    store.set_defaults(handler=_store, accepts_rest=True)
    etcd = which.add_parser(
        "etcd",
        help="the etcd endpoint vs real etcd through an independent client (put, txn-put, range)",
        description="Options are those of python -m kubemu.bench.etcd_bench (--runs N, "
        "--seconds S, --clients 1,100,1000, --ops put,txn-put,range, --json FILE).",
        add_help=False,
    )
    etcd.set_defaults(handler=_etcd, accepts_rest=True)
    apiserver = which.add_parser(
        "apiserver",
        help="the apiserver in-process and over gRPC (client in a separate process): single "
        "get/create/update, create_many, bind_many, field-selected watch, LIST of 100k pods",
        description="Options are those of python -m kubemu.bench.apiserver_bench (--quick, "
        "--runs N, --modes inprocess,grpc, --seconds S, --json FILE).",
        add_help=False,
    )
    apiserver.set_defaults(handler=_apiserver, accepts_rest=True)
    scheduler_perf = which.add_parser(
        "scheduler-perf",
        help="scheduler_perf workload files (SchedulingBasic, ...) against an in-process "
        "apiserver and the scheduler: throughput, attempt latency, threshold check",
        description="Options are those of python -m kubemu.bench.scheduler_perf (CONFIG, "
        "--workload NAME, --output FILE, --quick, --plot FILE, --list).",
        add_help=False,
    )
    scheduler_perf.set_defaults(handler=_scheduler_perf, accepts_rest=True)
