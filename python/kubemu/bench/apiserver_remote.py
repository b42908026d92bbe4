"""The gRPC mode of ``kubemu bench apiserver``: the apiserver served here with
:class:`~kubemu.apiserver.grpc_server.GrpcServer`, driven from a separate client process
(:class:`Child`: ``python -m kubemu.bench.apiserver_bench --worker SPEC`` runs :func:`worker`,
a :class:`~kubemu.client.grpc_client.GrpcClient` on its own event loop; its last stdout line is
the JSON result) or from the lean Rust client (:mod:`kubemu.bench.apiserver_lean`)."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from kubemu.bench.apiserver_report import Record
from kubemu.bench.apiserver_workload import (
    NAMESPACE,
    TOKEN,
    Obj,
    Sizes,
    bound_pod_values,
    drain_watchers,
    ensure_namespace,
    feed_batches,
    make_pod,
    new_server,
    op_bind_many,
    op_create_many,
    op_renew_leases,
    op_single,
    open_watchers,
    top_up_pods,
)

__all__ = ["Child", "remote", "run_grpc", "worker"]


async def worker(spec: Obj) -> Obj:
    """The client side of one gRPC benchmark, run in a separate process."""
    from kubemu.client.grpc_client import GrpcClient

    client = GrpcClient(spec["target"], token=TOKEN, multiplex=spec.get("multiplex", True))
    op = spec["op"]
    try:
        if op == "single":
            return await op_single(
                client, spec["verb"], spec["concurrency"], spec["seconds"], spec["tag"],
                spec["get_names"],
            )  # fmt: skip
        if op == "create_many":
            return await op_create_many(client, spec["count"], spec["start"])
        if op == "bind_many":
            return await op_bind_many(client, spec["count"], spec["nodes"])
        if op == "leases":
            return await op_renew_leases(client, spec["count"])
        if op == "list":
            return await grpc_list(client, spec["target"])
        if op == "watch":
            streams = await open_watchers(client, spec["nodes"], spec["rv"])
            print(json.dumps({"ready": True}), flush=True)
            count, last, dropped = await drain_watchers(
                streams, spec["expected"], 120.0, spec.get("raw", False)
            )
            return {"count": count, "last": last, "dropped": dropped}
        raise ValueError(f"unknown op {op}")
    finally:
        await client.close()


async def grpc_list(client: Any, target: str) -> Obj:
    """LIST of the namespace's pods twice: raw (``GrpcClient.list_raw``: the packed items as
    received, undecoded) and decoded (``GrpcClient.list``: every item a dict)."""
    t = time.perf_counter()
    packed = await client.list_raw("pods", NAMESPACE)
    raw = time.perf_counter() - t
    items = len(packed)
    del packed
    t = time.perf_counter()
    decoded = await client.list("pods", NAMESPACE)
    return {"raw": raw, "decoded": time.perf_counter() - t, "items": items,
            "decoded_items": len(decoded.items)}  # fmt: skip


class Child:
    """A worker process: ``--worker SPEC``; its last stdout line is the JSON result."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, spec: Obj) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kubemu.bench.apiserver_bench",
            "--worker",
            json.dumps(spec),
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def line(self) -> Obj:
        assert self.proc.stdout is not None
        raw = await self.proc.stdout.readline()
        if not raw:
            await self.proc.wait()
            raise RuntimeError(f"benchmark worker exited with {self.proc.returncode}")
        doc: Obj = json.loads(raw)
        return doc

    async def result(self) -> Obj:
        doc = await self.line()
        await self.proc.wait()
        return doc


async def remote(spec: Obj) -> Obj:
    child = await Child.start(spec)
    return await child.result()


async def grpc_single(sizes: Sizes, client: str, target: str, verb: str, c: int) -> Obj:
    if client == "lean":
        from kubemu.bench.apiserver_lean import run_lean_single

        return await run_lean_single(
            Path(sizes.lean_binary), target=target, token=TOKEN, verb=verb, concurrency=c,
            seconds=sizes.seconds, namespace=NAMESPACE, pod=make_pod("lean"),
            tag=f"lean-{verb}{c}", get_names=sizes.create_many,
        )  # fmt: skip
    spec = {"op": "single", "target": target, "verb": verb, "concurrency": c,
            "seconds": sizes.seconds, "tag": f"{verb}{c}",
            "get_names": sizes.create_many, "multiplex": sizes.multiplex}  # fmt: skip
    return await remote(spec)


async def run_grpc(sizes: Sizes, record: Record) -> None:
    from kubemu.apiserver.grpc_server import GrpcServer
    from kubemu.cli.apiserver import tune_gc
    from kubemu.client.inprocess import InProcessClient

    server = new_server()
    grpc_server = GrpcServer(server, "127.0.0.1:0")
    await grpc_server.start()
    target = grpc_server.target
    await ensure_namespace(InProcessClient(server))
    mode = "grpc"
    threshold = gc.get_threshold()
    if sizes.tune_gc:  # as `kubemu apiserver` does after startup
        tune_gc()
    only = sizes.only
    try:
        if "create_many" in only or "bind_many" in only or "single" in only:
            r = await remote(
                {"op": "create_many", "target": target, "count": sizes.create_many, "start": 0}
            )
            if "create_many" in only:
                record(f"{mode}_create_many", "pods/s", r["rate"], None)
        if "bind_many" in only:
            spec = {"op": "bind_many", "target": target, "count": sizes.create_many,
                    "nodes": sizes.nodes}  # fmt: skip
            r = await remote(spec)
            record(f"{mode}_bind_many", "bindings/s", r["rate"], None)
        if "leases" in only:
            r = await remote({"op": "leases", "target": target, "count": sizes.leases})
            record(f"{mode}_renew_leases", "renewals/s", r["rate"], None)
        for client in sizes.clients if "single" in only else ():
            for verb in ("create", "get", "update"):
                for c in sizes.concurrency:
                    cpu0 = time.process_time()
                    r = await grpc_single(sizes, client, target, verb, c)
                    server_cpu = time.process_time() - cpu0
                    lat = {"p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                           "server_cpu_us": server_cpu / max(1, r["requests"]) * 1e6}  # fmt: skip
                    if "cpu_us" in r:
                        lat["client_cpu_us"] = r["cpu_us"]
                    name = (
                        f"{mode}_{verb}_c{c}" if client == "python" else f"{mode}_lean_{verb}_c{c}"
                    )
                    record(name, "requests/s", r["rate"], lat)
        for raw in (False, True) if "watch" in only else ():
            rv = str(server.storage.revision)
            expected = 2 * sizes.watch_pods
            spec = {"op": "watch", "target": target, "nodes": sizes.nodes, "rv": rv,
                    "expected": expected, "raw": raw}  # fmt: skip
            child = await Child.start(spec)
            await child.line()  # ready
            batches = bound_pod_values(server, sizes.watch_pods, sizes.nodes, "gr" if raw else "g")
            t0 = await feed_batches(server, batches)
            r = await child.result()
            rate = r["count"] / max(1e-9, r["last"] - t0)
            extra = {"delivered": r["count"], "dropped": r["dropped"]}
            record(f"{mode}_watch_raw" if raw else f"{mode}_watch", "events/s", rate, extra)
        if "list" in only:
            await top_up_pods(server, sizes.list_pods)
            r = await remote({"op": "list", "target": target})
            record(f"{mode}_list_raw", "s", r["raw"], {"items": r["items"]})
            record(f"{mode}_list_decoded", "s", r["decoded"], {"items": r["decoded_items"]})
    finally:
        await grpc_server.stop(0)
        await server.close()
        gc.unfreeze()
        gc.set_threshold(*threshold)
