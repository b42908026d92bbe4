"""Behaviour check of kubemu.bench.scheduler_core_bench at a tiny size (not a timing check)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest
from kubemu.bench import scheduler_core_bench as scb
from kubemu.cli.bench import BENCHMARKS

Obj = scb.Obj

REFERENCE = Path(__file__).resolve().parents[1] / "scheduler" / "reference"


def test_finds_and_loads_the_reference_under_its_own_name() -> None:
    path = scb.find_reference(str(REFERENCE))
    assert path == REFERENCE
    engine = scb.load_reference(path)
    assert engine.__name__ == f"{scb.REFERENCE_PACKAGE}.engine"
    assert hasattr(engine, "Scheduler")
    # Found without the option from a checkout's root too.
    assert scb.find_reference() == REFERENCE


def test_missing_reference_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(scb.ReferenceNotFound, match=r"no __init__\.py"):
        scb.find_reference(str(tmp_path))
    assert scb.main(["--reference", str(tmp_path), "--nodes", "3", "--pods", "2"]) == 2


@pytest.mark.parametrize("pct", [0, 100])
def test_bench_measures_both_and_checks_decisions(pct: int) -> None:
    engine = scb.load_reference(REFERENCE)
    results = scb.bench(
        nodes=120, pods=40, reference_pods=10, pcts=[pct], runs=2, seed=3, engine=engine
    )
    by_name = {r.bench: r for r in results}
    assert list(by_name) == ["rust", "rust_first_k", "reference", "rust_over_reference"]
    for r in results:
        assert len(r.runs) == 2
        assert all(math.isfinite(x) and x > 0 for x in r.runs)
        assert r.params["pct"] == pct and r.params["nodes"] == 120
    assert by_name["rust"].params["pods"] == 40
    assert by_name["reference"].params["pods"] == 10
    ratio = by_name["rust_over_reference"]
    for x, a, b in zip(
        ratio.runs, by_name["rust_first_k"].runs, by_name["reference"].runs, strict=True
    ):
        assert x == pytest.approx(a / b)


def test_decisions_are_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = scb.load_reference(REFERENCE)

    real = scb.time_reference

    def shifted(
        engine: ModuleType, nodes: Sequence[Obj], pods: Sequence[Obj], seed: int, pct: int
    ) -> tuple[float, list[str | None]]:
        rate, chosen = real(engine, nodes, pods, seed, pct)
        return rate, [*chosen[1:], chosen[0]]

    monkeypatch.setattr(scb, "time_reference", shifted)
    with pytest.raises(scb.DecisionsDiffer, match="pod-0"):
        scb.bench(nodes=5, pods=4, reference_pods=4, pcts=[0], runs=1, seed=1, engine=engine)


def test_same_cluster_same_decisions_directly() -> None:
    engine = scb.load_reference(REFERENCE)
    nodes = [scb.make_node(i) for i in range(7)]
    pods = [scb.make_pod(i) for i in range(12)]
    _, rust = scb.time_rust([scb.encode(n) for n in nodes], [scb.encode(p) for p in pods], 5, 0)
    _, ref = scb.time_reference(engine, nodes, pods, 5, 0)
    assert rust == ref
    assert len(set(rust)) > 1 and None not in rust


def test_rust_only_and_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubemu.bench.scheduler_core_bench",
            "--no-reference",
            "--nodes",
            "50",
            "--pods",
            "20",
            "--reference-pods",
            "5",
            "--pct",
            "100",
            "--runs",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["bench"] for d in lines] == ["rust", "rust_first_k"]
    assert lines[0]["unit"] == "pods/s" and lines[0]["median"] > 0
    assert json.loads(out.read_text()) == lines


def test_bad_options_are_rejected() -> None:
    with pytest.raises(SystemExit):
        scb.main(["--pct", "150"])
    with pytest.raises(SystemExit):
        scb.main(["--nodes", "0"])


def test_registered_with_kubemu_bench() -> None:
    assert BENCHMARKS["scheduler-core"][0] == scb.__name__
