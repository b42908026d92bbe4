"""Benchmark of the apiserver, in-process and over gRPC (issue 4's Proof targets).

Run::

    python -m kubemu.bench.apiserver_bench [--quick] [--runs N] [--modes inprocess,grpc]
                                           [--only watch,list] [--seconds S] [--json FILE]

(also ``kubemu bench apiserver``). Each run starts a fresh in-memory apiserver (``Store``
without fsync, the default admission chain) on uvloop when available. ``inprocess`` drives it
through :class:`InProcessClient` in the same event loop; ``grpc`` serves it with
:class:`GrpcServer` on loopback and drives it from a **separate client process** (this module
with ``--worker``, a :class:`GrpcClient` on its own uvloop), so client and server each have an
interpreter and the two share the machine's cores.

stdout gets one JSON object per line and benchmark::

    {"bench": NAME, "unit": UNIT, "median": X, "runs": [...], "params": {...}}

(``median`` over the runs; single-request benches also carry ``p50_ms``/``p99_ms`` medians)
and a human summary goes to stderr. Benchmarks, per mode:

* ``{mode}_{create,get,update}_c{N}``: single-object requests from N concurrent asyncio
  tasks for ``--seconds``; requests/s and latency p50/p99 (update: each task updates its
  own pod with the resourceVersion of its last write); over gRPC also ``server_cpu_us`` and
  ``client_cpu_us``, CPU time per request of the server process (all its threads, for the
  whole run of the client, so it includes the client's start-up wait) and of the Python
  client's timed loop: figures that a loaded machine disturbs less than requests/s;
* ``{mode}_create_many``: pods/s through ``create_many`` in batches of 1,000 (a realistic pod:
  labels, annotations, owner reference, two containers with requests/limits, ports, env,
  probes, tolerations, node selector);
* ``{mode}_bind_many``: bindings/s through ``bind_many`` in batches of 1,000 of those pods;
* ``{mode}_renew_leases``: renewals/s of 10,000 node Leases (kube-node-lease) through
  ``renew_leases`` in batches of 1,000, three rounds (the heartbeats of 10,000 hollow nodes:
  upstream renews every 10 s, ~1,000/s);
* ``{mode}_watch`` / ``{mode}_watch_raw``: events/s delivered to 1,000 watchers with ``fieldSelector
  spec.nodeName=node-i`` plus one ``node_names`` watcher over the same 1,000 nodes, while
  pre-encoded bound pods are written straight into the store in batches of 1,000 (so the
  writer is not the bottleneck; each write reaches 2 streams); the clock runs from the first
  write to the last event delivered (``watch``: read one by one with ``async for``, each
  decoded into a dict; ``watch_raw``: read with ``raw_batches()``, undecoded bytes);
* ``{mode}_list_raw`` / ``{mode}_list_decoded``: seconds for one LIST of all pods (100,000;
  the pods above topped up with copies written straight into the store): raw = the items as
  stored bytes (in-process: ``APIServer.list``; gRPC: ``GrpcClient.list_raw``, the packed
  items of the ListResponse as received, no msgpack decode), decoded = every item a dict
  (``Client.list``).

gRPC single-object benchmarks run from the Python client and, with ``--clients python,lean``,
also from ``kubemu-apiserver-bench`` (rust/kubemu-apiserver-bench, built on demand), named
``grpc_lean_{create,get,update}_c{N}``: the same requests over the same ``Call`` stream from a
client that costs little, so the figures show what the server sustains.

The parts: :mod:`kubemu.bench.apiserver_workload` (sizes, the pod, the operations),
:mod:`kubemu.bench.apiserver_remote` (the gRPC mode and its worker process),
:mod:`kubemu.bench.apiserver_lean` (the lean client), :mod:`kubemu.bench.apiserver_report`
(results, targets, summary); this module runs the modes and is the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from kubemu.apiserver import APIServer
from kubemu.bench.apiserver_remote import run_grpc, worker
from kubemu.bench.apiserver_report import Record, params, summary
from kubemu.bench.apiserver_workload import (
    BENCHES,
    CLIENTS,
    NAMESPACE,
    Sizes,
    bound_pod_values,
    drain_watchers,
    ensure_namespace,
    feed_batches,
    new_server,
    op_bind_many,
    op_create_many,
    op_renew_leases,
    op_single,
    open_watchers,
    run_event_loop,
    top_up_pods,
)
from kubemu.bench.results import BenchResult


async def run_inprocess(sizes: Sizes, record: Record) -> None:
    from kubemu.client.inprocess import InProcessClient

    server = new_server()
    client = InProcessClient(server)
    await ensure_namespace(client)
    mode = "inprocess"
    only = sizes.only
    if "create_many" in only or "bind_many" in only or "single" in only:
        r = await op_create_many(client, sizes.create_many, 0)
        if "create_many" in only:
            record(f"{mode}_create_many", "pods/s", r["rate"], None)
    if "bind_many" in only:
        r = await op_bind_many(client, sizes.create_many, sizes.nodes)
        record(f"{mode}_bind_many", "bindings/s", r["rate"], None)
    for verb in ("create", "get", "update") if "single" in only else ():
        for c in sizes.concurrency:
            r = await op_single(client, verb, c, sizes.seconds, f"{verb}{c}", sizes.create_many)
            lat = {"p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"]}
            record(f"{mode}_{verb}_c{c}", "requests/s", r["rate"], lat)
    if "leases" in only:
        r = await op_renew_leases(client, sizes.leases)
        record(f"{mode}_renew_leases", "renewals/s", r["rate"], None)
    if "watch" in only:
        await _inprocess_watch(server, client, sizes, record)
    if "list" in only:
        await top_up_pods(server, sizes.list_pods)
        t = time.perf_counter()
        raw = await server.list("pods", NAMESPACE, user=client.user)
        elapsed = time.perf_counter() - t
        record(f"{mode}_list_raw", "s", elapsed, {"items": float(len(raw.items))})
        del raw
        t = time.perf_counter()
        decoded = await client.list("pods", NAMESPACE)
        record(f"{mode}_list_decoded", "s", time.perf_counter() - t, {"items": len(decoded.items)})
        del decoded
    await server.close()


async def _inprocess_watch(server: APIServer, client: Any, sizes: Sizes, record: Record) -> None:
    await _inprocess_watch_once(server, client, sizes, record, raw=False)
    await _inprocess_watch_once(server, client, sizes, record, raw=True)


async def _inprocess_watch_once(
    server: APIServer, client: Any, sizes: Sizes, record: Record, *, raw: bool
) -> None:
    mode = "inprocess"
    name = f"{mode}_watch_raw" if raw else f"{mode}_watch"
    rv = str(server.storage.revision)
    streams = await open_watchers(client, sizes.nodes, rv)
    batches = bound_pod_values(server, sizes.watch_pods, sizes.nodes, "ipr" if raw else "ip")
    expected = 2 * sizes.watch_pods
    drain = asyncio.ensure_future(drain_watchers(streams, expected, 120.0, raw))
    await asyncio.sleep(0)
    t0 = await feed_batches(server, batches)
    count, last, dropped = await drain
    rate = count / max(1e-9, last - t0)
    record(name, "events/s", rate, {"delivered": count, "dropped": dropped})


# --------------------------------------------------------------------------------- main


MODES: dict[str, Callable[[Sizes, Record], Awaitable[None]]] = {
    "inprocess": run_inprocess,
    "grpc": run_grpc,
}


def run_benchmarks(sizes: Sizes, runs: int, modes: Sequence[str]) -> dict[str, BenchResult]:
    results: dict[str, BenchResult] = {}

    def record(name: str, unit: str, value: float, extra: dict[str, float] | None) -> None:
        res = results.setdefault(name, BenchResult(name, unit, params=params(sizes)))
        res.runs.append(value)
        for k, v in (extra or {}).items():
            res.extra.setdefault(k, []).append(v)

    for _ in range(runs):
        for mode in modes:
            run_event_loop(lambda m=mode: MODES[m](sizes, record))  # type: ignore[misc]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubemu bench apiserver", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="inprocess,grpc")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument(
        "--only",
        metavar="NAME,...",
        default=",".join(BENCHES),
        help=f"run only these benchmarks (of {','.join(BENCHES)})",
    )
    parser.add_argument(
        "--no-multiplex",
        action="store_true",
        help="gRPC client: one unary RPC per single-object request (no Call stream)",
    )
    parser.add_argument(
        "--no-tune-gc", action="store_true", help="gRPC server: CPython's default GC settings"
    )
    parser.add_argument(
        "--clients",
        metavar="NAME,...",
        default="python",
        help="gRPC single-object benchmarks from these clients: python (GrpcClient in its own "
        "process), lean (kubemu-apiserver-bench, a Rust client built on demand with cargo); "
        "lean results are named grpc_lean_*",
    )
    parser.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        out = run_event_loop(lambda: worker(json.loads(args.worker)))
        print(json.dumps(out), flush=True)
        return 0
    sizes = Sizes.quick() if args.quick else Sizes()
    if args.seconds is not None:
        sizes.seconds = args.seconds
    sizes.multiplex = not args.no_multiplex
    only = [b for b in args.only.split(",") if b]
    for b in only:
        if b not in BENCHES:
            parser.error(f"unknown benchmark {b!r} (choose from {', '.join(BENCHES)})")
    sizes.only = frozenset(only)
    sizes.tune_gc = not args.no_tune_gc
    clients = tuple(c for c in args.clients.split(",") if c)
    for c in clients:
        if c not in CLIENTS:
            parser.error(f"unknown client {c!r} (choose from {', '.join(CLIENTS)})")
    sizes.clients = clients
    if "lean" in clients and "grpc" in args.modes.split(",") and "single" in only:
        from kubemu.bench.apiserver_lean import build_lean_client

        sizes.lean_binary = str(build_lean_client())
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            parser.error(f"unknown mode {m!r} (choose from {', '.join(MODES)})")
    results = run_benchmarks(sizes, args.runs, modes)
    docs = [r.to_json() for r in results.values()]
    for d in docs:
        print(json.dumps(d), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")
    print(summary(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
