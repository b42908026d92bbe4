"""kubemu.bench.etcd_bench: the summary arithmetic and the kubemu etcd process wrapper (the
load generator itself is a Rust binary built on demand, exercised by the benchmark runs)."""

from __future__ import annotations

from kubemu.bench import etcd_bench as eb

from tests.etcd.conftest import Etcdctl


def run(ops: float, p99: float) -> dict[str, float]:
    return {
        "ops_per_sec": ops,
        "mean_ms": p99 / 4,
        "p50_ms": p99 / 5,
        "p90_ms": p99 / 2,
        "p99_ms": p99,
        "max_ms": p99 * 2,
        "conns": 100,
    }


def test_summary_takes_medians_per_metric() -> None:
    s = eb.summarize([run(100, 9), run(300, 1), run(200, 5)])
    assert s["ops_per_sec"] == 200
    assert s["p99_ms"] == 5
    assert s["runs_ops_per_sec"] == [100, 300, 200]


def test_render_shows_both_servers_and_ratios() -> None:
    row = {
        "op": "txn-put",
        "clients": 1000,
        "kubemu": eb.summarize([run(30_000, 10)]),
        "etcd": eb.summarize([run(10_000, 40)]),
        "ratio_ops": 3.0,
        "ratio_p99": 4.0,
    }
    table = eb.render([row]).splitlines()
    assert len(table) == 2
    assert table[1].split() == [
        "txn-put",
        "1000",
        "30,000",
        "10,000",
        "3.00",
        "10.00",
        "40.00",
        "4.00",
    ]


def test_kubemu_etcd_process_serves_and_cleans_up() -> None:
    with eb.KubemuEtcd(data_parent=None) as server:
        Etcdctl(server.address).run("put", "k", "v")
        assert Etcdctl(server.address).run("get", "k", "--print-value-only").strip() == "v"
        proc = server.proc
    assert proc.poll() is not None
