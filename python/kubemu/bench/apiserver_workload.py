"""The workload of ``kubemu bench apiserver`` (:mod:`kubemu.bench.apiserver_bench`): its sizes
and run options, a realistic pod, the server it runs against and the operations, each driving a
:class:`~kubemu.client.interface.Client` (in-process or gRPC) and returning a dict of figures."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubemu.apiserver import APIServer, EmbeddedStorage, codec
from kubemu.client.interface import Client, ListOptions
from kubemu.store import Store

Obj = dict[str, Any]

NAMESPACE = "bench"
BATCH = 1_000
BENCHES = ("create_many", "bind_many", "single", "watch", "list", "leases")
"""Benchmark groups (``--only``): single = create/get/update at each concurrency."""
CLIENTS = ("python", "lean")
"""Clients of the gRPC single-object benchmarks (``--clients``)."""

TOKEN = "kubemu-bench-token"
"""The bearer token of the benchmark's clients (``system:admin``)."""

WATCH_QUEUE = 100_000
"""Per-stream watch queue of the benchmark's server: the node-pool stream receives every
write of the burst (the default 10,000 would drop it as a slow client, by design)."""


@dataclass
class Sizes:
    seconds: float = 3.0
    concurrency: tuple[int, ...] = (1, 64)
    create_many: int = 20_000
    nodes: int = 1_000
    watch_pods: int = 50_000
    list_pods: int = 100_000
    leases: int = 10_000
    """Node Leases renewed by the ``leases`` benchmark (one per hollow node)."""
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
            leases=200,
        )


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


LEASE_NAMESPACE = "kube-node-lease"


async def op_renew_leases(client: Client, count: int, rounds: int = 3) -> Obj:
    """Creates ``count`` node Leases (once), then renews all of them ``rounds`` times with
    ``renew_leases`` in batches of :data:`BATCH`; the rate is renewals per second."""
    refs = [(LEASE_NAMESPACE, node_name(i)) for i in range(count)]
    leases = [
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40},
        }
        for ns, name in refs
    ]
    for i in range(0, count, BATCH):
        await client.create_many("leases", LEASE_NAMESPACE, leases[i : i + BATCH])
    failed = 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        for i in range(0, count, BATCH):
            result = await client.renew_leases(refs[i : i + BATCH])
            failed += sum(e is not None for e in result.errors)
    elapsed = time.perf_counter() - t0
    return {"rate": rounds * count / elapsed, "failed": failed}


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


async def feed_batches(server: APIServer, batches: list[list[Any]]) -> float:
    """Write ``batches`` (of :func:`bound_pod_values`) into the store, yielding to the event
    loop between batches so watchers drain meanwhile; returns ``time.time()`` at the start."""
    t0 = time.time()
    for b in batches:
        server.storage.create_many(b)
        await asyncio.sleep(0)
    return t0


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


def run_event_loop(main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main`` on uvloop when available, else asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main())  # type: ignore[arg-type]
    return uvloop.run(main())  # type: ignore[arg-type]
