"""The lean client (rust/kubemu-apiserver-bench) does the benchmark's requests against a real
apiserver over gRPC: built with cargo, run for a fraction of a second per verb, its JSON is
read and the server's state shows its writes (a behaviour check, not a timing check)."""

from __future__ import annotations

import asyncio

import pytest
from kubemu.apiserver.grpc_server import GrpcServer
from kubemu.apiserver.request import SYSTEM_ADMIN
from kubemu.bench import apiserver_bench as ab
from kubemu.bench import apiserver_workload as wl
from kubemu.bench.apiserver_lean import build_lean_client, run_lean_single
from kubemu.client.inprocess import InProcessClient


async def _drive() -> None:
    binary = build_lean_client()
    server = wl.new_server()
    grpc_server = GrpcServer(server, "127.0.0.1:0")
    await grpc_server.start()
    client = InProcessClient(server)
    try:
        await wl.ensure_namespace(client)
        await wl.op_create_many(client, 50, 0)
        results = {}
        for verb in ("create", "get", "update"):
            results[verb] = await run_lean_single(
                binary, target=grpc_server.target, token=wl.TOKEN, verb=verb, concurrency=3,
                seconds=0.2, namespace=wl.NAMESPACE, pod=wl.make_pod("lean"), tag="t",
                get_names=50,
            )  # fmt: skip
        for verb, r in results.items():
            assert r["requests"] > 0 and r["rate"] > 0, verb
            assert r["p50_ms"] <= r["p99_ms"], verb
        listed = await server.list("pods", wl.NAMESPACE, user=SYSTEM_ADMIN)
        names = {raw.decode()["metadata"]["name"] for raw in listed.items}
        assert sum(n.startswith("c-t-") for n in names) == results["create"]["requests"]
        updated = [await client.get("pods", wl.NAMESPACE, f"upd-t-{w}") for w in range(3)]
        counters = [int(p["metadata"]["annotations"]["kubemu.io/counter"]) for p in updated]
        # each task wrote its counter 0, 1, ..., n-1; generation stays (metadata only)
        assert sum(c + 1 for c in counters) == results["update"]["requests"]
        # a wrong token fails the run with the server's Status message
        with pytest.raises(RuntimeError, match="Unauthorized"):
            await run_lean_single(
                binary, target=grpc_server.target, token="wrong", verb="get", concurrency=1,
                seconds=0.1, namespace=wl.NAMESPACE, pod=wl.make_pod("lean"), tag="t",
                get_names=50,
            )  # fmt: skip
    finally:
        await grpc_server.stop(None)
        await server.close()


def test_lean_client_drives_the_server() -> None:
    asyncio.run(_drive())


def test_unknown_client_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        ab.main(["--quick", "--clients", "java"])
