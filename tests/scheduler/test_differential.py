"""kubemu._core.Scheduler (rust/kubemu-sched) and the Python reference agree: feasibility, the
chosen node (same seed), per-plugin scores and the FitError message, over batches of pods."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubemu._core import Scheduler as RustScheduler
from kubemu._core import ScheduleResult
from kubemu.apiserver.codec import encode

from . import strategies as s
from .reference.engine import Result
from .reference.engine import Scheduler as RefScheduler
from .reference.profile import Profile

Obj = dict[str, Any]

FIT_ARGS: list[Obj | None] = [
    None,
    {"scoringStrategy": {"type": "MostAllocated"}},
    {
        "scoringStrategy": {
            "type": "RequestedToCapacityRatio",
            "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}],
            "requestedToCapacityRatio": {
                "shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]
            },
        }
    },
    {
        "scoringStrategy": {
            "type": "RequestedToCapacityRatio",
            "resources": [{"name": "cpu", "weight": 1}, {"name": s.GPU, "weight": 2}],
            "requestedToCapacityRatio": {
                "shape": [
                    {"utilization": 0, "score": 10},
                    {"utilization": 30, "score": 3},
                    {"utilization": 100, "score": 0},
                ]
            },
        }
    },
    {
        "scoringStrategy": {
            "type": "LeastAllocated",
            "resources": [
                {"name": "cpu", "weight": 2},
                {"name": "memory", "weight": 1},
                {"name": s.GPU, "weight": 5},
            ],
        }
    },
]


def make(seed: int, fit_args: Obj | None, pct: int = 0) -> tuple[RustScheduler, RefScheduler]:
    profile = None
    ref_args: dict[str, Obj] = {}
    if fit_args is not None:
        profile = encode({"pluginConfig": [{"name": "NodeResourcesFit", "args": fit_args}]})
        ref_args["NodeResourcesFit"] = fit_args
    rust = RustScheduler(seed, pct, profile, record_scores=True)
    ref = RefScheduler(seed, pct, Profile(ref_args))
    return rust, ref


def view(r: ScheduleResult | Result) -> tuple[Any, ...]:
    return (
        r.pod,
        r.node,
        r.status,
        r.feasible_nodes,
        r.evaluated_nodes,
        r.message,
        dict(r.reasons),
        r.scores,
    )


def schedule_both(rust: RustScheduler, ref: RefScheduler, pods: list[Obj]) -> list[ScheduleResult]:
    got = rust.schedule_batch([encode(p) for p in pods])
    want = ref.schedule_batch(pods)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert view(g) == view(w)
    return got


@st.composite
def scenario(draw: st.DrawFn, min_nodes: int = 2, max_nodes: int = 10) -> Obj:
    nodes = draw(s.cluster(min_nodes, max_nodes))
    names = [n["metadata"]["name"] for n in nodes]
    existing = draw(
        st.lists(st.integers(0, 10**6), max_size=4).map(lambda xs: [f"e{x}" for x in set(xs)])
    )
    bound = [draw(s.pod(name, names)) for name in existing]
    batch1 = [draw(s.pod(f"p{i}")) for i in range(draw(st.integers(1, 8)))]
    batch2 = [draw(s.pod(f"q{i}")) for i in range(draw(st.integers(0, 4)))]
    return {
        "nodes": nodes,
        "bound": bound,
        "batch1": batch1,
        "batch2": batch2,
        "seed": draw(st.integers(0, 2**64 - 1)),
        "fit_args": draw(st.sampled_from(FIT_ARGS)),
        "remove_node": draw(st.booleans()),
        "forget": draw(st.booleans()),
        "readd": draw(st.booleans()),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_rust_and_reference_agree(sc: Obj) -> None:
    rust, ref = make(sc["seed"], sc["fit_args"])
    for n in sc["nodes"]:
        rust.add_node(encode(n))
        ref.add_node(n)
    for p in sc["bound"]:
        rust.add_pod(encode(p))
        ref.add_pod(p)
    got = schedule_both(rust, ref, sc["batch1"])
    # Cache events between batches: a node leaves (its pods stay accounted), a bind fails.
    if sc["remove_node"]:
        name = sc["nodes"][0]["metadata"]["name"]
        assert rust.remove_node(name) == ref.remove_node(name)
    if sc["forget"]:
        for r, p in zip(got, sc["batch1"], strict=True):
            if r.node is not None:
                assert rust.forget("default", p["metadata"]["name"])
                ref.remove_pod(p["metadata"].get("uid") or f"default/{p['metadata']['name']}")
                break
    if sc["readd"] and sc["remove_node"]:
        n = sc["nodes"][0]
        rust.add_node(encode(n))
        ref.add_node(n)
    assert rust.node_count == ref.cache.num_nodes()
    schedule_both(rust, ref, sc["batch2"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(100, 400),
    st.integers(0, 2**64 - 1),
    st.sampled_from([0, 0, 10, 50, 100]),
    st.data(),
)
def test_sampling_agrees_on_large_clusters(
    n: int, seed: int, pct: int, data: st.DataObject
) -> None:
    """Adaptive sampling and the round-robin start over 100+ nodes in several zones."""
    rust, ref = make(seed, None, pct)
    for i in range(n):
        zone = f"z{i % data.draw(st.integers(1, 4), label='zones')}" if i % 7 else "zx"
        cpu = data.draw(st.sampled_from(["1", "2", "4"]))
        obj = {
            "metadata": {"name": f"node-{i}", "labels": {s.ZONE: zone}},
            "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"}},
        }
        rust.add_node(encode(obj))
        ref.add_node(obj)
    pods = [data.draw(s.pod(f"p{i}")) for i in range(data.draw(st.integers(5, 30)))]
    results = schedule_both(rust, ref, pods)
    assert any(r.node is not None for r in results) or all(r.node is None for r in results)
