"""Hypothesis strategies for clusters and pods (Kubernetes object dicts)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

Obj = dict[str, Any]

ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
GPU = "example.com/gpu"
KEYS = ["tier", ZONE, "num", "disk"]
NODE_NAMES = [f"n{i}" for i in range(12)]


def _maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


@st.composite
def node(draw: st.DrawFn, name: str) -> Obj:
    labels: dict[str, str] = {"kubernetes.io/hostname": name}
    if draw(st.booleans()):
        labels[ZONE] = draw(st.sampled_from(["z0", "z1", "z2", ""]))
    if draw(st.integers(0, 3)) == 0:
        labels[REGION] = draw(st.sampled_from(["r0", "r1"]))
    for k, vals in (("tier", ["a", "b", "c"]), ("num", ["1", "5", "10", "x"]), ("disk", ["ssd"])):
        if draw(st.booleans()):
            labels[k] = draw(st.sampled_from(vals))
    alloc: dict[str, str] = {
        "cpu": draw(st.sampled_from(["1", "2", "4", "500m", "1500m", "3100m"])),
        "memory": draw(st.sampled_from(["512Mi", "1Gi", "2Gi", "4Gi", "3000M"])),
        "pods": draw(st.sampled_from(["2", "4", "110"])),
    }
    if draw(st.booleans()):
        alloc[GPU] = draw(st.sampled_from(["0", "1", "2"]))
    if draw(st.booleans()):
        alloc["ephemeral-storage"] = draw(st.sampled_from(["1Gi", "10Gi"]))
    taints = []
    if draw(st.integers(0, 2)) == 0:
        taints = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "key": st.sampled_from(["k1", "k2", "node.kubernetes.io/unschedulable"]),
                        "value": st.sampled_from(["", "v"]),
                        "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
                    }
                ),
                min_size=1,
                max_size=2,
            )
        )
    images = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "names": st.lists(
                        st.sampled_from(["img-a:1", "img-b:latest", "reg:5000/img-c", "img-d:2"]),
                        min_size=1,
                        max_size=2,
                    ),
                    "sizeBytes": st.sampled_from([10_000_000, 300_000_000, 900_000_000, 2 << 30]),
                }
            ),
            max_size=3,
        )
    )
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"unschedulable": draw(st.integers(0, 9)) == 0, "taints": taints},
        "status": {"allocatable": alloc, "images": images},
    }


@st.composite
def cluster(draw: st.DrawFn, min_nodes: int = 1, max_nodes: int = 10) -> list[Obj]:
    n = draw(st.integers(min_nodes, max_nodes))
    return [draw(node(NODE_NAMES[i] if i < len(NODE_NAMES) else f"n{i}")) for i in range(n)]


_QTY = {
    "cpu": ["0", "100m", "250m", "1", "1500m", "0.3"],
    "memory": ["0", "64Mi", "256Mi", "1Gi", "100M"],
    GPU: ["0", "1", "2"],
    "ephemeral-storage": ["1Gi"],
}


@st.composite
def resource_map(draw: st.DrawFn) -> dict[str, str]:
    out = {}
    for k, vals in _QTY.items():
        if draw(st.integers(0, 2 if k in ("cpu", "memory") else 6)) == 0:
            continue
        if k not in ("cpu", "memory") and draw(st.integers(0, 2)) != 0:
            continue
        out[k] = draw(st.sampled_from(vals))
    return out


@st.composite
def container(draw: st.DrawFn, init: bool = False) -> Obj:
    c: Obj = {
        "name": "c",
        "image": draw(st.sampled_from(["img-a:1", "img-b", "reg:5000/img-c", "img-e"])),
        "resources": {"requests": draw(resource_map())},
    }
    if draw(st.integers(0, 3)) == 0:
        c["resources"]["limits"] = draw(resource_map())
    if draw(st.integers(0, 4)) == 0:
        c["ports"] = [
            {
                "containerPort": 80,
                "hostPort": draw(st.sampled_from([80, 8080])),
                "protocol": draw(st.sampled_from(["TCP", "UDP", ""])),
                "hostIP": draw(st.sampled_from(["", "127.0.0.1", "0.0.0.0"])),
            }
        ]
    if init and draw(st.booleans()):
        c["restartPolicy"] = "Always"
    return c


_VALUES = {"tier": ["a", "b", "c"], ZONE: ["z0", "z1", "z2"], "num": ["3", "7"], "disk": ["ssd"]}


@st.composite
def requirement(draw: st.DrawFn) -> Obj:
    key = draw(st.sampled_from(KEYS))
    op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Bad"]))
    if op in ("In", "NotIn"):
        vals = draw(st.lists(st.sampled_from(_VALUES[key]), min_size=0, max_size=2))
        if vals or draw(st.integers(0, 5)) != 0:  # empty values: an invalid requirement
            vals = vals or [_VALUES[key][0]]
    elif op in ("Gt", "Lt"):
        vals = [draw(st.sampled_from(["2", "6", "x"]))]
    else:
        vals = []
    return {"key": key, "operator": op, "values": vals}


@st.composite
def term(draw: st.DrawFn) -> Obj:
    t: Obj = {"matchExpressions": draw(st.lists(requirement(), max_size=2))}
    if draw(st.integers(0, 3)) == 0:
        t["matchFields"] = [
            {
                "key": "metadata.name",
                "operator": draw(st.sampled_from(["In", "NotIn"])),
                "values": [draw(st.sampled_from(NODE_NAMES[:6]))],
            }
        ]
    return t


@st.composite
def affinity(draw: st.DrawFn) -> Obj:
    na: Obj = {}
    if draw(st.booleans()):
        na["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": draw(st.lists(term(), min_size=0, max_size=2))
        }
    if draw(st.booleans()):
        na["preferredDuringSchedulingIgnoredDuringExecution"] = draw(
            st.lists(
                st.fixed_dictionaries({"weight": st.integers(0, 100), "preference": term()}),
                max_size=3,
            )
        )
    return {"nodeAffinity": na}


toleration = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["", "k1", "k2", "node.kubernetes.io/unschedulable"]),
        "operator": st.sampled_from(["", "Equal", "Exists"]),
        "value": st.sampled_from(["", "v"]),
        "effect": st.sampled_from(["", "NoSchedule", "PreferNoSchedule", "NoExecute"]),
    }
)


@st.composite
def pod(draw: st.DrawFn, name: str, node_names: list[str] | None = None) -> Obj:
    spec: Obj = {"containers": draw(st.lists(container(), min_size=1, max_size=2))}
    if draw(st.integers(0, 3)) == 0:
        spec["initContainers"] = draw(st.lists(container(init=True), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        spec["nodeSelector"] = draw(
            st.dictionaries(st.sampled_from(["tier", ZONE]), st.sampled_from(["a", "z1"]))
        )
    if draw(st.integers(0, 2)) == 0:
        spec["affinity"] = draw(affinity())
    if draw(st.booleans()):
        spec["tolerations"] = draw(st.lists(toleration, max_size=2))
    if draw(st.integers(0, 6)) == 0:
        spec["overhead"] = {"cpu": "50m"}
    if node_names is not None:
        spec["nodeName"] = draw(st.sampled_from(node_names))
    elif draw(st.integers(0, 10)) == 0:
        spec["nodeName"] = draw(st.sampled_from(NODE_NAMES[:4]))
    meta: Obj = {"name": name, "namespace": "default"}
    if draw(st.booleans()):
        meta["uid"] = f"uid-{name}"
    return {"metadata": meta, "spec": spec}
