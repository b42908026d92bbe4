"""``kubemu bench``: benchmarks that print machine-readable results."""

from __future__ import annotations

import argparse
from typing import Any


def _store(args: argparse.Namespace) -> int:
    from kubemu.bench import store_bench

    code: int = store_bench.main(args.rest)
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
