"""kubemu._core.Scheduler (DefaultPreemption in rust/kubemu-sched) and the Python reference
(reference/plugins/default_preemption.py) agree on preemption: the nominated node, the victims
(in order), the FitError message with its ``preemption: ...`` part, and what later pods of the
batch see (nominated pods hold their room), over generated small clusters with priorities, start
times, PDBs, preemptionPolicy Never, required anti-affinity (PreFilter RemovePod in the dry
run), pods already nominated to a node (tried first) and other pods' nominations."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubemu._core import Scheduler as RustScheduler
from kubemu.apiserver.codec import encode

from .reference.engine import Scheduler as RefScheduler

Obj = dict[str, Any]

APPS = ("a", "b", "c")


def node(i: int, cpu: int, pods: int) -> Obj:
    name = f"n{i}"
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"allocatable": {"cpu": str(cpu), "memory": "8Gi", "pods": str(pods)}},
    }


@st.composite
def pod(draw: st.DrawFn, name: str, node_name: str | None = None, nodes: int = 0) -> Obj:
    cpu = draw(st.sampled_from(["250m", "500m", "1", "1500m", "2", "3"]))
    spec: Obj = {
        "priority": draw(st.integers(-2, 6)),
        "containers": [{"name": "c", "image": "pause", "resources": {"requests": {"cpu": cpu}}}],
    }
    meta: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    status: Obj = {}
    app = draw(st.sampled_from((None, *APPS)))
    if app is not None:
        meta["labels"] = {"app": app}
    if node_name is not None:
        spec["nodeName"] = node_name
        start = draw(st.none() | st.integers(0, 5))
        if start is not None:
            status["startTime"] = f"2024-01-01T00:00:0{start}Z"
    else:
        if nodes and draw(st.integers(0, 3)) == 0:
            status["nominatedNodeName"] = f"n{draw(st.integers(0, nodes - 1))}"
        if draw(st.integers(0, 5)) == 0:
            spec["preemptionPolicy"] = "Never"
        if draw(st.integers(0, 4)) == 0:
            spec["affinity"] = {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "labelSelector": {"matchLabels": {"app": draw(st.sampled_from(APPS))}},
                            "topologyKey": "kubernetes.io/hostname",
                        }
                    ]
                }
            }
    out: Obj = {"metadata": meta, "spec": spec}
    if status:
        out["status"] = status
    return out


@st.composite
def scenario(draw: st.DrawFn) -> Obj:
    n = draw(st.integers(1, 5))
    nodes = [node(i, draw(st.sampled_from([2, 3, 4])), draw(st.integers(2, 6))) for i in range(n)]
    bound: list[Obj] = []
    for i in range(n):
        for k in range(draw(st.integers(0, 4))):
            bound.append(draw(pod(f"b{i}-{k}", f"n{i}")))
    pdbs = [
        {
            "metadata": {"name": f"pdb-{app}", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": app}}},
            "status": {"disruptionsAllowed": draw(st.integers(0, 2))},
        }
        for app in APPS
        if draw(st.booleans())
    ]
    batch = [draw(pod(f"p{i}", nodes=n)) for i in range(draw(st.integers(1, 4)))]
    # Pending pods nominated earlier (by an earlier preemption): they hold room on their node.
    nominated = [draw(pod(f"w{i}", nodes=n)) for i in range(draw(st.integers(0, 2)))]
    return {
        "nominated": [p for p in nominated if "nominatedNodeName" in p.get("status", {})],
        "nodes": nodes,
        "bound": bound,
        "pdbs": pdbs,
        "batch": batch,
        "seed": draw(st.integers(0, 2**64 - 1)),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_preemption_agrees(sc: Obj) -> None:
    rust = RustScheduler(sc["seed"])
    ref = RefScheduler(sc["seed"])
    for n in sc["nodes"]:
        rust.add_node(encode(n))
        ref.add_node(n)
    for p in sc["bound"]:
        rust.add_pod(encode(p))
        ref.add_pod(p)
    for pdb in sc["pdbs"]:
        rust.set_pdb(encode(pdb))
        ref.preemption.set_pdb(pdb)
    for p in sc["nominated"]:
        rust.set_nominated_pod(encode(p))
        ref.preemption.set_nominated_pod(p)
    got = rust.schedule_batch([encode(p) for p in sc["batch"]])
    want = ref.schedule_batch(sc["batch"])
    for g, w in zip(got, want, strict=True):
        assert (g.pod, g.status, g.node, g.message) == (w.pod, w.status, w.node, w.message)
        assert g.nominated_node == w.nominated_node
        assert [f"{ns}/{name}" for ns, name, _ in g.victims] == w.victims
    for p in sc["batch"]:
        name = p["metadata"]["name"]
        want_node = ref.preemption.nominator.by_pod.get(f"default/{name}")
        assert rust.nominated_node("default", name) == want_node
