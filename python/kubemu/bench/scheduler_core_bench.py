"""The scheduling core in one run: ``kubemu._core.Scheduler.schedule_batch`` (Rust) against the
pure-Python reference implementation of the same plugins, on the same generated cluster.

Run from a checkout (the reference lives in the test tree, not in the installed package)::

    python -m kubemu.bench.scheduler_core_bench [--nodes N] [--pods P] [--reference-pods K]
        [--pct 0,100] [--runs R] [--seed S] [--reference DIR | --no-reference] [--json FILE]

The cluster is scheduler_perf's SchedulingBasic shape: N nodes (4 cpu, 32Gi, 110 pods, three
zones, one image), pods of 100m / 500Mi, no spread or affinity terms (the reference does not
mirror PodTopologySpread and InterPodAffinity; both plugins skip such pods in the Rust core).
For each ``percentageOfNodesToScore`` in ``--pct`` (0 = upstream's adaptive sampling, 100 = score
every node) and each of ``--runs`` runs, fresh schedulers get the same nodes and seed, then:

* ``rust``: ``schedule_batch`` of P pods (msgpack bytes, one crossing), pods/s;
* ``rust_first_k``: the same on a fresh Rust scheduler with only the first K pods, pods/s;
* ``reference``: the reference engine's ``schedule_batch`` of those K pods (dicts), pods/s;
* ``rust_over_reference``: ``rust_first_k / reference`` per run (same pods, same start).

The reference's K decisions are checked against the Rust scheduler's first K (same seed, same
cluster: they must be equal); a mismatch is an error (exit 1). Timings exclude building the
cluster and encoding the pods; the cyclic GC is paused while either side schedules.

stdout gets one JSON object per line, like the other bench modules::

    {"bench": NAME, "unit": UNIT, "median": X, "runs": [...], "params": {...}}

The reference package is found with ``--reference DIR`` (the ``reference`` directory, e.g.
``tests/scheduler/reference``), else as ``tests/scheduler/reference`` under the current directory
or above the installed ``kubemu`` package (an editable install of a checkout). It is loaded under
its own name (``kubemu_bench_reference``), so the installed package never imports the test tree.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from kubemu._core import Scheduler
from kubemu.apiserver.codec import encode
from kubemu.bench.results import BenchResult
from kubemu.gcpause import gc_paused

Obj = dict[str, Any]

REFERENCE_PACKAGE = "kubemu_bench_reference"
REFERENCE_SUBDIR = Path("tests") / "scheduler" / "reference"
IMAGE = "registry.k8s.io/pause:3.10"


class ReferenceNotFound(Exception):
    """No reference package where it was looked for (the message says where)."""


# ------------------------------------------------------------------------------- data


def make_node(i: int) -> Obj:
    name = f"node-{i}"
    res = {"cpu": "4", "memory": "32Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/zone": f"zone-{i % 3}",
            },
        },
        "status": {
            "allocatable": dict(res),
            "capacity": dict(res),
            "images": [{"names": [IMAGE], "sizeBytes": 300_000}],
        },
    }


def make_pod(i: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i}", "namespace": "default", "uid": f"uid-{i}"},
        "spec": {
            "containers": [
                {
                    "name": "pause",
                    "image": IMAGE,
                    "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}},
                }
            ]
        },
    }


# -------------------------------------------------------------------------- reference


def find_reference(explicit: str | None = None) -> Path:
    """The reference package directory: ``explicit``, else ``tests/scheduler/reference`` under
    the current directory or under a parent of the ``kubemu`` package's directory."""
    if explicit is not None:
        path = Path(explicit)
        if not (path / "__init__.py").is_file():
            raise ReferenceNotFound(f"{path} is not the reference package (no __init__.py)")
        return path
    import kubemu

    starts = [Path.cwd(), *Path(kubemu.__file__).resolve().parents]
    for base in starts:
        path = base / REFERENCE_SUBDIR
        if (path / "__init__.py").is_file():
            return path
    raise ReferenceNotFound(
        f"no {REFERENCE_SUBDIR} under {Path.cwd()} or above the kubemu package; run from a "
        "checkout or pass --reference DIR (or --no-reference)"
    )


def load_reference(path: Path) -> ModuleType:
    """The reference's ``engine`` module, with the package loaded as ``REFERENCE_PACKAGE``
    (its relative imports resolve inside it)."""
    if REFERENCE_PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            REFERENCE_PACKAGE, path / "__init__.py", submodule_search_locations=[str(path)]
        )
        if spec is None or spec.loader is None:
            raise ReferenceNotFound(f"cannot load {path}")
        package = importlib.util.module_from_spec(spec)
        sys.modules[REFERENCE_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{REFERENCE_PACKAGE}.engine")


# ------------------------------------------------------------------------------- runs


def rust_scheduler(nodes: Sequence[bytes], seed: int, pct: int) -> Scheduler:
    s = Scheduler(seed, pct)
    for n in nodes:
        s.add_node(n)
    return s


def time_rust(
    nodes: Sequence[bytes], pods: Sequence[bytes], seed: int, pct: int
) -> tuple[float, list[str | None]]:
    """(pods/s, chosen nodes) of one ``schedule_batch`` crossing on a fresh scheduler."""
    s = rust_scheduler(nodes, seed, pct)
    with gc_paused():
        t0 = time.perf_counter()
        results = s.schedule_batch(pods)
        dt = time.perf_counter() - t0
    return len(pods) / dt, [r.node for r in results]


def time_reference(
    engine: ModuleType, nodes: Sequence[Obj], pods: Sequence[Obj], seed: int, pct: int
) -> tuple[float, list[str | None]]:
    """(pods/s, chosen nodes) of the reference's ``schedule_batch`` on a fresh scheduler."""
    ref = engine.Scheduler(seed, pct)
    for n in nodes:
        ref.add_node(n)
    with gc_paused():
        t0 = time.perf_counter()
        results = ref.schedule_batch(pods)
        dt = time.perf_counter() - t0
    return len(pods) / dt, [r.node for r in results]


class DecisionsDiffer(Exception):
    """The Rust core and the reference chose different nodes for the same pods."""


def bench(
    *,
    nodes: int,
    pods: int,
    reference_pods: int,
    pcts: Sequence[int],
    runs: int,
    seed: int,
    engine: ModuleType | None,
    log: Any = None,
) -> list[BenchResult]:
    """The measurements described in the module docs; ``engine`` None skips the reference."""
    node_objs = [make_node(i) for i in range(nodes)]
    node_bytes = [encode(n) for n in node_objs]
    pod_objs = [make_pod(i) for i in range(pods)]
    pod_bytes = [encode(p) for p in pod_objs]
    k = min(reference_pods, pods)
    results: list[BenchResult] = []
    for pct in pcts:
        params = {"nodes": nodes, "pct": pct, "seed": seed}
        rust = BenchResult("rust", "pods/s", params={**params, "pods": pods})
        rust_k = BenchResult("rust_first_k", "pods/s", params={**params, "pods": k})
        ref = BenchResult("reference", "pods/s", params={**params, "pods": k})
        ratio = BenchResult("rust_over_reference", "x", params={**params, "pods": k})
        for run in range(runs):
            rate, chosen = time_rust(node_bytes, pod_bytes, seed, pct)
            rust.runs.append(rate)
            rate_k, chosen_k = time_rust(node_bytes, pod_bytes[:k], seed, pct)
            rust_k.runs.append(rate_k)
            if chosen_k != chosen[:k]:
                raise DecisionsDiffer("the first pods' decisions depend on the batch length")
            if engine is not None:
                ref_rate, ref_chosen = time_reference(engine, node_objs, pod_objs[:k], seed, pct)
                if ref_chosen != chosen_k:
                    pairs = zip(chosen_k, ref_chosen, strict=True)
                    first = next(i for i, (a, b) in enumerate(pairs) if a != b)
                    raise DecisionsDiffer(
                        f"pct={pct}: pod-{first} went to {chosen_k[first]} (Rust) and "
                        f"{ref_chosen[first]} (reference)"
                    )
                ref.runs.append(ref_rate)
                ratio.runs.append(rate_k / ref_rate)
            if log is not None:
                msg = f"pct={pct} run {run + 1}/{runs}: rust {rate:,.0f} pods/s"
                if engine is not None:
                    msg += f", reference {ref.runs[-1]:,.1f} pods/s, x{ratio.runs[-1]:,.0f}"
                log(msg)
        results += [rust, rust_k]
        if engine is not None:
            results += [ref, ratio]
    return results


# -------------------------------------------------------------------------------- main


def _pcts(text: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--pct: not a list of integers: {text!r}") from None
    if not values or any(not 0 <= p <= 100 for p in values):
        raise argparse.ArgumentTypeError(f"--pct: values must lie in 0..100: {text!r}")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kubemu bench scheduler-core",
        description="Rust scheduling core vs the Python reference, same cluster, one run.",
    )
    parser.add_argument("--nodes", type=_positive, default=10_000)
    parser.add_argument("--pods", type=_positive, default=10_000, help="pods for the Rust core")
    parser.add_argument(
        "--reference-pods",
        type=_positive,
        default=100,
        help="pods for the reference (and the like-for-like Rust run); default 100",
    )
    parser.add_argument("--pct", type=_pcts, default=[0, 100], help="e.g. 0,100 (default)")
    parser.add_argument("--runs", type=_positive, default=3)
    parser.add_argument("--seed", type=int, default=1)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--reference", metavar="DIR", help="the reference package directory")
    where.add_argument("--no-reference", action="store_true", help="Rust only")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(f"# {msg}", file=sys.stderr, flush=True)

    engine = None
    if not args.no_reference:
        try:
            path = find_reference(args.reference)
            engine = load_reference(path)
        except ReferenceNotFound as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        log(f"reference: {path}")
    try:
        results = bench(
            nodes=args.nodes,
            pods=args.pods,
            reference_pods=args.reference_pods,
            pcts=args.pct,
            runs=args.runs,
            seed=args.seed,
            engine=engine,
            log=log,
        )
    except DecisionsDiffer as e:
        print(f"error: decisions differ: {e}", file=sys.stderr)
        return 1
    for r in results:
        print(json.dumps(r.to_json()), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps([r.to_json() for r in results], indent=1) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
