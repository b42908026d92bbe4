"""The workload of kubemu.bench.apiserver_bench (kubemu.bench.apiserver_workload) at a tiny
size: the pod is valid, and each operation does what it says against an in-process apiserver
(a behaviour check, not a timing check)."""

from __future__ import annotations

import asyncio
import math

from kubemu.apiserver import APIServer
from kubemu.bench import apiserver_workload as wl
from kubemu.client.inprocess import InProcessClient


def test_make_pod_is_valid_and_realistic() -> None:
    server = wl.new_server()
    kind = server.kind("pods")
    pod = wl.make_pod("pod-0000001", node="node-00001")
    kind.default(pod)
    kind.prepare_for_create(pod, now="2026-11-26T00:00:00Z")
    assert kind.validate_create(pod) == []
    c = pod["spec"]["containers"][0]
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert pod["spec"]["tolerations"] and pod["metadata"]["labels"]


def test_percentile() -> None:
    values = [float(i) for i in range(101)]
    assert wl.percentile(values, 0.5) == 50.0
    assert wl.percentile(values, 0.99) == 99.0
    assert math.isnan(wl.percentile([], 0.5))


async def _ops(server: APIServer) -> None:
    client = InProcessClient(server)
    await wl.ensure_namespace(client)
    r = await wl.op_create_many(client, 1_500, 0)
    assert r["failed"] == 0 and r["rate"] > 0
    r = await wl.op_bind_many(client, 1_500, 10)
    assert r["failed"] == 0
    pod = await client.get("pods", wl.NAMESPACE, "pod-0000011")
    assert pod["spec"]["nodeName"] == wl.node_name(1)
    for verb in ("create", "get", "update"):
        r = await wl.op_single(client, verb, 3, 0.05, verb, 1_500)
        assert r["requests"] > 0 and r["p50_ms"] <= r["p99_ms"]
    rv = str(server.storage.revision)
    streams = await wl.open_watchers(client, 10, rv)
    assert len(streams) == 11
    batches = wl.bound_pod_values(server, 200, 10, "t")
    drain = asyncio.ensure_future(wl.drain_watchers(streams, 400, 30.0))
    await asyncio.sleep(0)
    wl.write_batches(server, batches)
    count, _, dropped = await drain
    assert dropped == 0
    assert count == 400  # each pod reaches its node's watcher and the node-pool watcher
    await wl.top_up_pods(server, 2_000)
    listed = await client.list("pods", wl.NAMESPACE)
    assert len(listed.items) >= 2_000
    r = await wl.op_renew_leases(client, 1_200, rounds=2)
    assert r["failed"] == 0 and r["rate"] > 0
    lease = await client.get("leases", wl.LEASE_NAMESPACE, wl.node_name(1_100))
    assert lease["spec"]["renewTime"] and lease["spec"]["holderIdentity"] == wl.node_name(1_100)
    await server.close()


def test_operations_in_process() -> None:
    asyncio.run(_ops(wl.new_server()))
