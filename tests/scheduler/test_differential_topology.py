"""kubemu._core.Scheduler and the Python reference agree on PodTopologySpread and
InterPodAffinity: clusters with zone/hostname/rack labels, namespaces with labels, existing pods
with labels, owners and (anti-)affinity terms, and incoming pods with spread constraints and
affinity terms. Same seed → same feasibility, FitError message, per-plugin and total scores and
chosen node, across two batches with cache events (pod removal, namespace relabelling) between.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubemu._core import Scheduler as RustScheduler
from kubemu._core import ScheduleResult
from kubemu.apiserver.codec import encode

from . import strategies as s
from .reference.engine import Scheduler as RefScheduler
from .reference.profile import Profile
from .test_differential import schedule_both

Obj = dict[str, Any]
EVENTS = ["remove_pod", "move_pod", "forget", "remove_node", "relabel_node"]
EVENTS += ["relabel_namespace", "remove_namespace"]

PLUGIN_CONFIGS: list[list[Obj]] = [
    [],
    [{"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 7}}],
    [{"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 0}}],
    [{"name": "InterPodAffinity", "args": {"ignorePreferredTermsOfExistingPods": True}}],
    [
        {
            "name": "PodTopologySpread",
            "args": {
                "defaultingType": "List",
                "defaultConstraints": [
                    {"maxSkew": 1, "topologyKey": s.RACK, "whenUnsatisfiable": "DoNotSchedule"},
                    {"maxSkew": 2, "topologyKey": s.ZONE, "whenUnsatisfiable": "ScheduleAnyway"},
                ],
            },
        }
    ],
]


def make(seed: int, plugin_config: list[Obj]) -> tuple[RustScheduler, RefScheduler]:
    profile = encode({"pluginConfig": plugin_config}) if plugin_config else None
    rust = RustScheduler(seed, 0, profile, record_scores=True)
    ref = RefScheduler(seed, 0, Profile({c["name"]: c["args"] for c in plugin_config}))
    return rust, ref


@st.composite
def scenario(draw: st.DrawFn) -> Obj:
    nodes = draw(s.topology_cluster())
    names = [n["metadata"]["name"] for n in nodes]
    namespaces = [draw(s.namespace(n)) for n in s.NAMESPACES[:3]]
    existing = [draw(s.topology_pod(f"e{i}", names)) for i in range(draw(st.integers(0, 10)))]
    return {
        "nodes": nodes,
        "namespaces": namespaces,
        "existing": existing,
        "batch1": [draw(s.topology_pod(f"p{i}")) for i in range(draw(st.integers(1, 6)))],
        "batch2": [draw(s.topology_pod(f"q{i}")) for i in range(draw(st.integers(0, 3)))],
        "seed": draw(st.integers(0, 2**64 - 1)),
        "plugin_config": draw(st.sampled_from(PLUGIN_CONFIGS)),
        "events": draw(
            st.lists(
                st.sampled_from(EVENTS),
                max_size=4,
            )
        ),
        "which": draw(st.integers(0, 10)),
        "relabel_node": draw(s.topology_node("n1")),
        "relabel_namespace": draw(s.namespace("ns1")),
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_topology_plugins_agree(sc: Obj) -> None:
    rust, ref = make(sc["seed"], sc["plugin_config"])
    for n in sc["nodes"]:
        rust.add_node(encode(n))
        ref.add_node(n)
    for ns in sc["namespaces"]:
        assert rust.set_namespace(encode(ns)) == ref.set_namespace(ns)
    for p in sc["existing"]:
        rust.add_pod(encode(p))
        ref.add_pod(p)
    got = schedule_both(rust, ref, sc["batch1"])
    for event in sc["events"]:
        apply_event(rust, ref, sc, event, got)
    assert rust.node_count == ref.cache.num_nodes()
    schedule_both(rust, ref, sc["batch2"])


def apply_event(
    rust: RustScheduler, ref: RefScheduler, sc: Obj, event: str, got: list[ScheduleResult]
) -> None:
    """One cache event between the batches, applied to both."""
    existing = sc["existing"]
    if event in ("remove_pod", "move_pod") and existing:
        pod = existing[sc["which"] % len(existing)]
        meta = pod["metadata"]
        if event == "remove_pod":
            assert rust.remove_pod(meta["namespace"], meta["name"]) == ref.remove_pod(
                f"{meta['namespace']}/{meta['name']}"
            )
        else:  # re-added on another node (the pod keeps its labels and terms)
            nodes = sc["nodes"]
            moved = {**pod, "spec": {**pod["spec"], "nodeName": nodes[-1]["metadata"]["name"]}}
            rust.add_pod(encode(moved))
            ref.add_pod(moved)
    elif event == "forget":
        for r, p in zip(got, sc["batch1"], strict=True):
            if r.node is not None:
                meta = p["metadata"]
                key = f"{meta['namespace']}/{meta['name']}"
                assert rust.forget(meta["namespace"], meta["name"]) == ref.remove_pod(key)
                break
    elif event == "remove_node":
        name = sc["nodes"][0]["metadata"]["name"]
        assert rust.remove_node(name) == ref.remove_node(name)
    elif event == "relabel_node":
        rust.update_node(encode(sc["relabel_node"]))
        ref.add_node(sc["relabel_node"])
    elif event == "relabel_namespace":
        rust.set_namespace(encode(sc["relabel_namespace"]))
        ref.set_namespace(sc["relabel_namespace"])
    elif event == "remove_namespace":
        assert rust.remove_namespace("ns2") == ref.remove_namespace("ns2")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(100, 220), st.integers(0, 2**64 - 1), st.sampled_from([0, 10]), st.data())
def test_topology_plugins_agree_under_sampling(
    n: int, seed: int, pct: int, data: st.DataObject
) -> None:
    """Adaptive sampling: PodTopologySpread's PreScore sees only the sampled feasible nodes."""
    rust = RustScheduler(seed, pct, None, record_scores=True)
    ref = RefScheduler(seed, pct, Profile())
    names = [f"n{i}" for i in range(n)]
    for name in names:
        obj = data.draw(s.topology_node(name), label="node")
        rust.add_node(encode(obj))
        ref.add_node(obj)
    for i in range(data.draw(st.integers(0, 30), label="existing")):
        p = data.draw(s.topology_pod(f"e{i}", names), label="pod")
        rust.add_pod(encode(p))
        ref.add_pod(p)
    pods = [data.draw(s.topology_pod(f"p{i}"), label="incoming") for i in range(10)]
    schedule_both(rust, ref, pods)
