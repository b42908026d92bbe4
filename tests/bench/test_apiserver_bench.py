"""Behaviour check of kubemu.bench.apiserver_bench at a tiny size (not a timing check)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from kubemu.apiserver import APIServer
from kubemu.bench import apiserver_bench as ab
from kubemu.client.inprocess import InProcessClient


def test_make_pod_is_valid_and_realistic() -> None:
    server = ab.new_server()
    kind = server.kind("pods")
    pod = ab.make_pod("pod-0000001", node="node-00001")
    kind.default(pod)
    kind.prepare_for_create(pod, now="2026-11-26T00:00:00Z")
    assert kind.validate_create(pod) == []
    c = pod["spec"]["containers"][0]
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert pod["spec"]["tolerations"] and pod["metadata"]["labels"]


def test_percentile() -> None:
    values = [float(i) for i in range(101)]
    assert ab.percentile(values, 0.5) == 50.0
    assert ab.percentile(values, 0.99) == 99.0
    assert math.isnan(ab.percentile([], 0.5))


async def _ops(server: APIServer) -> None:
    client = InProcessClient(server)
    await ab.ensure_namespace(client)
    r = await ab.op_create_many(client, 1_500, 0)
    assert r["failed"] == 0 and r["rate"] > 0
    r = await ab.op_bind_many(client, 1_500, 10)
    assert r["failed"] == 0
    pod = await client.get("pods", ab.NAMESPACE, "pod-0000011")
    assert pod["spec"]["nodeName"] == ab.node_name(1)
    for verb in ("create", "get", "update"):
        r = await ab.op_single(client, verb, 3, 0.05, verb, 1_500)
        assert r["requests"] > 0 and r["p50_ms"] <= r["p99_ms"]
    rv = str(server.storage.revision)
    streams = await ab.open_watchers(client, 10, rv)
    assert len(streams) == 11
    batches = ab.bound_pod_values(server, 200, 10, "t")
    drain = asyncio.ensure_future(ab.drain_watchers(streams, 400, 30.0))
    await asyncio.sleep(0)
    ab.write_batches(server, batches)
    count, _, dropped = await drain
    assert dropped == 0
    assert count == 400  # each pod reaches its node's watcher and the node-pool watcher
    await ab.top_up_pods(server, 2_000)
    listed = await client.list("pods", ab.NAMESPACE)
    assert len(listed.items) >= 2_000
    await server.close()


def test_operations_in_process() -> None:
    asyncio.run(_ops(ab.new_server()))


@pytest.mark.parametrize("modes", ["inprocess", "grpc"])
def test_main_quick_prints_json_lines(
    modes: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    assert ab.main(["--quick", "--runs", "1", "--modes", modes, "--json", str(out)]) == 0
    captured = capsys.readouterr()
    docs = [json.loads(line) for line in captured.out.splitlines()]
    names = {d["bench"] for d in docs}
    for suffix in ("create_many", "bind_many", "get_c1", "update_c8", "watch", "list_raw"):
        assert f"{modes}_{suffix}" in names
    assert all(d["median"] > 0 for d in docs)
    assert "p99_ms" in next(d for d in docs if d["bench"] == f"{modes}_create_c1")
    assert len(out.read_text().splitlines()) == len(docs)
    assert "apiserver benchmark" in captured.err
