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
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubemu.apiserver import APIServer, EmbeddedStorage, codec
from kubemu.client.interface import Client, ListOptions
from kubemu.store import Store

Obj = dict[str, Any]

NAMESPACE = "bench"
BATCH = 1_000
BENCHES = ("create_many", "bind_many", "single", "watch", "list")
"""Benchmark groups (``--only``): single = create/get/update at each concurrency."""
CLIENTS = ("python", "lean")
"""Clients of the gRPC single-object benchmarks (``--clients``)."""


# ----------------------------------------------------------------------------- results


@dataclass
class BenchResult:
    bench: str
    unit: str
    runs: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bench": self.bench,
            "unit": self.unit,
            "median": round(self.median, 4),
            "runs": [round(r, 4) for r in self.runs],
        }
        for k, v in self.extra.items():
            out[k] = round(statistics.median(v), 4) if v else None
        out["params"] = self.params
        return out


@dataclass
class Sizes:
    seconds: float = 3.0
    concurrency: tuple[int, ...] = (1, 64)
    create_many: int = 20_000
    nodes: int = 1_000
    watch_pods: int = 50_000
    list_pods: int = 100_000
    only: frozenset[str] = frozenset(BENCHES)
    """The benchmarks to run (``--only``): a subset of :data:`BENCHES`."""
    multiplex: bool = True
    """gRPC client: single-object verbs over the multiplexed Call stream (else unary RPCs)."""
    tune_gc: bool = True
    """gRPC server process: ``kubemu apiserver``'s GC settings (freeze, gen0 threshold)."""
    clients: tuple[str, ...] = ("python",)
    """gRPC single-object benchmarks from these clients (``--clients``): ``python``
    (GrpcClient in a worker process), ``lean`` (kubemu-apiserver-bench, Rust)."""
    lean_binary: str = ""
    """The built lean client (set when ``lean`` is among :attr:`clients`)."""

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            seconds=0.3,
            concurrency=(1, 8),
            create_many=2_000,
            nodes=20,
            watch_pods=1_000,
            list_pods=3_000,
        )


# ------------------------------------------------------------------------------- data


def make_pod(name: str, namespace: str = NAMESPACE, node: str = "", app: int = 0) -> Obj:
    """A pod shaped as a Deployment's: two containers with requests/limits and probes."""
    app_name = f"app-{app % 100}"
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": app_name, "pod-template-hash": "5d4f8c7b9", "tier": "backend"},
            "annotations": {"kubemu.io/bench": "true"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app_name}-5d4f8c7b9",
                    "uid": "0b7a1c6e-1a43-4a7e-9f4e-6f2b1f0c8d11",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.k8s.io/pause:3.9",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "env": [{"name": "MODE", "value": "bench"}],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": 8080},
                        "periodSeconds": 10,
                    },
                },
                {
                    "name": "sidecar",
                    "image": "busybox:1.36",
                    "command": ["sleep", "infinity"],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "16Mi"},
                        "limits": {"cpu": "50m", "memory": "32Mi"},
                    },
                },
            ],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "bench", "effect": "NoSchedule"}
            ],
        },
    }
    if node:
        pod["spec"]["nodeName"] = node
    return pod


def node_name(i: int) -> str:
    return f"node-{i:05d}"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


# ------------------------------------------------------------------------- operations
# Each takes a Client (in-process or gRPC) and returns a dict of figures.


async def op_single(
    client: Client, verb: str, concurrency: int, seconds: float, tag: str, get_names: int
) -> Obj:
    """``verb`` in a loop from ``concurrency`` tasks for ``seconds``: requests/s, p50, p99."""
    latencies: list[float] = []
    objs: list[Obj] = []
    if verb == "update":  # each task updates its own pod (created untimed)
        objs = list(
            await asyncio.gather(
                *(
                    client.create("pods", NAMESPACE, make_pod(f"upd-{tag}-{w}"))
                    for w in range(concurrency)
                )
            )
        )

    async def worker(w: int) -> None:
        n = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                return
            if verb == "create":
                await client.create("pods", NAMESPACE, make_pod(f"c-{tag}-{w}-{n}"))
            elif verb == "get":
                await client.get("pods", NAMESPACE, f"pod-{(w * 7919 + n) % get_names:07d}")
            else:
                obj = objs[w]
                obj["metadata"]["annotations"]["kubemu.io/counter"] = str(n)
                objs[w] = await client.update("pods", NAMESPACE, obj)
            latencies.append(time.perf_counter() - t0)
            n += 1

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    deadline = t0 + seconds
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "cpu_us": cpu / max(1, len(latencies)) * 1e6,
    }


async def op_create_many(client: Client, count: int, start: int) -> Obj:
    """``count`` pods named pod-NNNNNNN from ``start``, in batches of 1,000: pods/s."""
    pods = [make_pod(f"pod-{i:07d}", app=i) for i in range(start, start + count)]
    t0 = time.perf_counter()
    failed = 0
    for i in range(0, count, BATCH):
        result = await client.create_many("pods", NAMESPACE, pods[i : i + BATCH])
        failed += sum(e is not None for e in result.errors)
    elapsed = time.perf_counter() - t0
    return {"rate": count / elapsed, "failed": failed}


async def op_bind_many(client: Client, count: int, nodes: int) -> Obj:
    bindings = [(NAMESPACE, f"pod-{i:07d}", node_name(i % nodes)) for i in range(count)]
    t0 = time.perf_counter()
    failed = 0
    for i in range(0, count, BATCH):
        result = await client.bind_many(bindings[i : i + BATCH])
        failed += sum(e is not None for e in result.errors)
    elapsed = time.perf_counter() - t0
    return {"rate": count / elapsed, "failed": failed}


async def open_watchers(client: Client, nodes: int, resource_version: str) -> list[Any]:
    """``nodes`` node-scoped watches (fieldSelector spec.nodeName) and one node-pool watch."""
    streams: list[Any] = []
    for i in range(nodes):
        opts = ListOptions(
            field_selector=f"spec.nodeName={node_name(i)}", resource_version=resource_version
        )
        streams.append(await client.watch("pods", NAMESPACE, opts))
    pool = frozenset(node_name(i) for i in range(nodes))
    streams.append(
        await client.watch(
            "pods", NAMESPACE, ListOptions(node_names=pool, resource_version=resource_version)
        )
    )
    return streams


async def drain_watchers(
    streams: list[Any], expected: int, timeout: float, raw: bool = False
) -> tuple[int, float, int]:
    """Count events until ``expected`` arrived, every stream ended or ``timeout``; returns
    (events, time.time() of the last event, streams dropped with an ERROR such as Gone).
    Events are read one by one (``async for``, each decoded into a dict) or, with ``raw``,
    through ``raw_batches()`` (undecoded msgpack bytes, a list per batch)."""
    count = 0
    dropped = 0
    last = time.time()
    done = asyncio.Event()
    live = len(streams)

    async def reader(stream: Any) -> None:
        nonlocal count, last, dropped, live
        try:
            async for ev in stream:
                if ev.type == "ERROR":
                    dropped += 1
                    return
                if ev.type in ("ADDED", "MODIFIED", "DELETED"):
                    count += 1
                    if count >= expected:
                        last = time.time()
                        done.set()
                        return
                    last = time.time()
        finally:
            live -= 1
            if not live:
                done.set()

    async def raw_reader(stream: Any) -> None:
        nonlocal count, last, dropped, live
        try:
            async for batch in stream.raw_batches():
                for etype, _rv, _data in batch:
                    if etype == "ERROR":
                        dropped += 1
                        return
                    if etype in ("ADDED", "MODIFIED", "DELETED"):
                        count += 1
                last = time.time()
                if count >= expected:
                    done.set()
                    return
        finally:
            live -= 1
            if not live:
                done.set()

    tasks = [asyncio.ensure_future((raw_reader if raw else reader)(s)) for s in streams]
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        pass
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for s in streams:
        await s.close()
    return count, last, dropped


def bound_pod_values(server: APIServer, count: int, nodes: int, tag: str) -> list[list[Any]]:
    """Stored bytes of ``count`` bound pods (as the apiserver stores them), batched."""
    kind = server.kind("pods")
    template = make_pod("w", node="x")
    kind.default(template)
    kind.prepare_for_create(template, now="2026-11-26T00:00:00Z")
    out: list[list[Any]] = []
    batch: list[Any] = []
    for i in range(count):
        pod = copy.copy(template)
        pod["metadata"] = dict(template["metadata"], name=f"w-{tag}-{i:07d}", uid=f"uid-{i}")
        pod["spec"] = dict(template["spec"], nodeName=node_name(i % nodes))
        batch.append((kind.key_of(pod), codec.encode(pod)))
        if len(batch) == BATCH:
            out.append(batch)
            batch = []
    if batch:
        out.append(batch)
    return out


def write_batches(server: APIServer, batches: list[list[Any]]) -> None:
    for b in batches:
        server.storage.create_many(b)


async def top_up_pods(server: APIServer, total: int) -> None:
    """Write copies of a stored pod straight into the store until the namespace has
    ``total`` pods."""
    kind = server.kind("pods")
    first = server.storage.list(kind.prefix(NAMESPACE), limit=1)
    have = first.count
    if have >= total:
        return
    if first.items:
        template = codec.decode_trusted(first.items[0].value)
    else:  # the create benchmarks did not run (--only)
        template = make_pod("fill", node=node_name(0))
        kind.default(template)
        kind.prepare_for_create(template, now="2026-11-26T00:00:00Z")
    batch: list[tuple[bytes, bytes]] = []
    for i in range(total - have):
        pod = copy.copy(template)
        pod["metadata"] = dict(template["metadata"], name=f"fill-{i:07d}", uid=f"fill-{i}")
        batch.append((kind.key_of(pod), codec.encode(pod)))
        if len(batch) == BATCH:
            server.storage.create_many(batch)
            batch = []
    if batch:
        server.storage.create_many(batch)


# ---------------------------------------------------------------------------- in-process


TOKEN = "kubemu-bench-token"


WATCH_QUEUE = 100_000
"""Per-stream watch queue of the benchmark's server: the node-pool stream receives every
write of the burst (the default 10,000 would drop it as a slow client, by design)."""


def new_server() -> APIServer:
    from kubemu.apiserver.auth import Authenticator, StaticTokenAuthenticator
    from kubemu.apiserver.request import SYSTEM_ADMIN

    auth = Authenticator([StaticTokenAuthenticator({TOKEN: SYSTEM_ADMIN})])
    return APIServer(
        EmbeddedStorage(Store(fsync=False)), authenticator=auth, watch_queue_size=WATCH_QUEUE
    )


async def ensure_namespace(client: Client) -> None:
    await client.create(
        "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    )


Record = Callable[[str, str, float, dict[str, float] | None], None]


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
    t0 = time.time()
    for b in batches:
        server.storage.create_many(b)
        await asyncio.sleep(0)
    count, last, dropped = await drain
    rate = count / max(1e-9, last - t0)
    record(name, "events/s", rate, {"delivered": count, "dropped": dropped})


# --------------------------------------------------------------------------------- gRPC


async def _worker(spec: Obj) -> Obj:
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
        if op == "list":
            return await _grpc_list(client, spec["target"])
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


async def _grpc_list(client: Any, target: str) -> Obj:
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


class _Child:
    """A worker process: ``--worker SPEC``; its last stdout line is the JSON result."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, spec: Obj) -> _Child:
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


async def _remote(spec: Obj) -> Obj:
    child = await _Child.start(spec)
    return await child.result()


async def _grpc_single(sizes: Sizes, client: str, target: str, verb: str, c: int) -> Obj:
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
    return await _remote(spec)


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
            r = await _remote(
                {"op": "create_many", "target": target, "count": sizes.create_many, "start": 0}
            )
            if "create_many" in only:
                record(f"{mode}_create_many", "pods/s", r["rate"], None)
        if "bind_many" in only:
            spec = {"op": "bind_many", "target": target, "count": sizes.create_many,
                    "nodes": sizes.nodes}  # fmt: skip
            r = await _remote(spec)
            record(f"{mode}_bind_many", "bindings/s", r["rate"], None)
        for client in sizes.clients if "single" in only else ():
            for verb in ("create", "get", "update"):
                for c in sizes.concurrency:
                    cpu0 = time.process_time()
                    r = await _grpc_single(sizes, client, target, verb, c)
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
            child = await _Child.start(spec)
            await child.line()  # ready
            batches = bound_pod_values(server, sizes.watch_pods, sizes.nodes, "gr" if raw else "g")
            t0 = time.time()
            for b in batches:
                server.storage.create_many(b)
                await asyncio.sleep(0)
            r = await child.result()
            rate = r["count"] / max(1e-9, r["last"] - t0)
            extra = {"delivered": r["count"], "dropped": r["dropped"]}
            record(f"{mode}_watch_raw" if raw else f"{mode}_watch", "events/s", rate, extra)
        if "list" in only:
            await top_up_pods(server, sizes.list_pods)
            r = await _remote({"op": "list", "target": target})
            record(f"{mode}_list_raw", "s", r["raw"], {"items": r["items"]})
            record(f"{mode}_list_decoded", "s", r["decoded"], {"items": r["decoded_items"]})
    finally:
        await grpc_server.stop(0)
        await server.close()
        gc.unfreeze()
        gc.set_threshold(*threshold)


# --------------------------------------------------------------------------------- main


MODES: dict[str, Callable[[Sizes, Record], Awaitable[None]]] = {
    "inprocess": run_inprocess,
    "grpc": run_grpc,
}


def run_event_loop(main: Callable[[], Awaitable[Any]]) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main())  # type: ignore[arg-type]
    return uvloop.run(main())  # type: ignore[arg-type]


def run_benchmarks(sizes: Sizes, runs: int, modes: Sequence[str]) -> dict[str, BenchResult]:
    results: dict[str, BenchResult] = {}

    def record(name: str, unit: str, value: float, extra: dict[str, float] | None) -> None:
        res = results.setdefault(name, BenchResult(name, unit, params=_params(sizes)))
        res.runs.append(value)
        for k, v in (extra or {}).items():
            res.extra.setdefault(k, []).append(v)

    for _ in range(runs):
        for mode in modes:
            run_event_loop(lambda m=mode: MODES[m](sizes, record))  # type: ignore[misc]
    return results


def _params(sizes: Sizes) -> dict[str, Any]:
    return {
        "seconds": sizes.seconds,
        "batch": BATCH,
        "create_many": sizes.create_many,
        "watchers": sizes.nodes + 1,
        "watch_pods": sizes.watch_pods,
        "list_pods": sizes.list_pods,
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


def _verdict(res: BenchResult) -> str:
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
        lines.append(f"  {res.bench:28s} {res.median:14,.3f} {res.unit}{extra}{_verdict(res)}")
    return "\n".join(lines)


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
        out = run_event_loop(lambda: _worker(json.loads(args.worker)))
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
