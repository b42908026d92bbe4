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


# Topology: zone/hostname/rack labels, namespaces with labels, pods with labels, owners,
# topology spread constraints and inter-pod (anti-)affinity terms.

HOSTNAME = "kubernetes.io/hostname"
RACK = "example.com/rack"
TOPOLOGY_KEYS = [ZONE, HOSTNAME, RACK]
NAMESPACES = ["default", "ns1", "ns2", "ns3"]  # ns3 never gets a Namespace object
POD_LABELS = {"app": ["web", "db"], "tier": ["a", "b"], "rev": ["1", "2"]}


@st.composite
def topology_node(draw: st.DrawFn, name: str) -> Obj:
    labels: dict[str, str] = {}
    if draw(st.integers(0, 9)) != 0:  # sometimes missing, sometimes shared with another node
        labels[HOSTNAME] = name if draw(st.integers(0, 7)) != 0 else "shared"
    if draw(st.integers(0, 4)) != 0:
        labels[ZONE] = draw(st.sampled_from(["z0", "z1", "z2"]))
    if draw(st.integers(0, 3)) != 0:
        labels[RACK] = draw(st.sampled_from(["r0", "r1"]))
    if draw(st.booleans()):
        labels["tier"] = draw(st.sampled_from(["a", "b"]))
    taints = []
    if draw(st.integers(0, 4)) == 0:
        taints = [
            {
                "key": "k1",
                "value": "",
                "effect": draw(st.sampled_from(["NoSchedule", "PreferNoSchedule"])),
            }
        ]
    pods = "110" if draw(st.integers(0, 7)) != 0 else "2"
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints},
        "status": {"allocatable": {"cpu": "8", "memory": "16Gi", "pods": pods}},
    }


@st.composite
def topology_cluster(draw: st.DrawFn, min_nodes: int = 2, max_nodes: int = 8) -> list[Obj]:
    n = draw(st.integers(min_nodes, max_nodes))
    return [draw(topology_node(f"n{i}")) for i in range(n)]


@st.composite
def namespace(draw: st.DrawFn, name: str) -> Obj:
    labels = {"kubernetes.io/metadata.name": name}
    if draw(st.integers(0, 3)) != 0:
        labels["team"] = draw(st.sampled_from(["a", "b"]))
    if draw(st.booleans()):
        labels["env"] = "prod"
    return {"metadata": {"name": name, "labels": labels}}


@st.composite
def pod_labels(draw: st.DrawFn) -> dict[str, str]:
    return {
        k: draw(st.sampled_from(vals)) for k, vals in POD_LABELS.items() if draw(st.integers(0, 2))
    }


@st.composite
def label_selector(draw: st.DrawFn, keys: dict[str, list[str]] | None = None) -> Obj | None:
    keys = keys or POD_LABELS
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return None  # nil: matches nothing
    if kind == 1:
        return {}  # matches everything
    sel: Obj = {}
    ml = draw(st.dictionaries(st.sampled_from(sorted(keys)), st.just(""), max_size=2))
    if ml:
        sel["matchLabels"] = {k: draw(st.sampled_from(keys[k])) for k in ml}
    exprs = []
    for _ in range(draw(st.integers(0 if ml else 1, 2))):
        key = draw(st.sampled_from(sorted(keys)))
        op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
        vals = (
            draw(st.lists(st.sampled_from(keys[key]), min_size=1, max_size=2, unique=True))
            if op in ("In", "NotIn")
            else []
        )
        exprs.append({"key": key, "operator": op, "values": vals})
    if exprs:
        sel["matchExpressions"] = exprs
    return sel


@st.composite
def spread_constraint(draw: st.DrawFn) -> Obj:
    c: Obj = {
        "maxSkew": draw(st.integers(1, 3)),
        "topologyKey": draw(st.sampled_from(TOPOLOGY_KEYS)),
        "whenUnsatisfiable": draw(st.sampled_from(["DoNotSchedule", "ScheduleAnyway"])),
        "labelSelector": draw(label_selector()),
    }
    if draw(st.integers(0, 2)) == 0:
        c["minDomains"] = draw(st.integers(1, 4))
    if draw(st.integers(0, 2)) == 0:
        c["nodeAffinityPolicy"] = draw(st.sampled_from(["Honor", "Ignore"]))
    if draw(st.integers(0, 2)) == 0:
        c["nodeTaintsPolicy"] = draw(st.sampled_from(["Honor", "Ignore"]))
    if draw(st.integers(0, 3)) == 0:
        c["matchLabelKeys"] = draw(st.lists(st.sampled_from(["app", "rev"]), max_size=2))
    return c


_NS_KEYS = {"team": ["a", "b"], "env": ["prod"]}


@st.composite
def pod_affinity_term(draw: st.DrawFn) -> Obj:
    t: Obj = {
        "labelSelector": draw(label_selector()),
        "topologyKey": draw(st.sampled_from(TOPOLOGY_KEYS)),
    }
    if draw(st.integers(0, 3)) == 0:
        t["namespaces"] = draw(st.lists(st.sampled_from(NAMESPACES), max_size=2, unique=True))
    if draw(st.integers(0, 2)) == 0:
        t["namespaceSelector"] = draw(label_selector(_NS_KEYS))
    return t


@st.composite
def pod_affinity(draw: st.DrawFn) -> Obj:
    out: Obj = {}
    for kind in ("podAffinity", "podAntiAffinity"):
        if not draw(st.booleans()):
            continue
        out[kind] = {
            "requiredDuringSchedulingIgnoredDuringExecution": draw(
                st.lists(pod_affinity_term(), max_size=2)
            ),
            "preferredDuringSchedulingIgnoredDuringExecution": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {"weight": st.integers(1, 100), "podAffinityTerm": pod_affinity_term()}
                    ),
                    max_size=2,
                )
            ),
        }
    return out


_OWNERS = [
    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": True},
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ss", "uid": "u2", "controller": True},
    {"apiVersion": "v1", "kind": "ReplicationController", "name": "rc", "uid": "u3"},
    {"apiVersion": "batch/v1", "kind": "Job", "name": "job", "uid": "u4", "controller": True},
]


@st.composite
def topology_pod(draw: st.DrawFn, name: str, node_names: list[str] | None = None) -> Obj:
    ns = draw(st.sampled_from(["default", "default", *NAMESPACES[1:]]))
    meta: Obj = {"name": name, "namespace": ns, "labels": draw(pod_labels())}
    if draw(st.integers(0, 2)) == 0:
        owner: Obj = dict(draw(st.sampled_from(_OWNERS)))
        if owner["kind"] == "ReplicationController" and draw(st.booleans()):
            owner["controller"] = True
        meta["ownerReferences"] = [owner]
        if owner["kind"] == "StatefulSet":
            meta["labels"]["statefulset.kubernetes.io/pod-name"] = name
    spec: Obj = {
        "containers": [{"name": "c", "image": "img", "resources": {"requests": {"cpu": "100m"}}}]
    }
    if draw(st.booleans()):
        spec["topologySpreadConstraints"] = draw(
            st.lists(spread_constraint(), min_size=1, max_size=2)
        )
    affinity: Obj = draw(pod_affinity()) if draw(st.booleans()) else {}
    if draw(st.integers(0, 4)) == 0:
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": ZONE, "operator": "NotIn", "values": ["z2"]}]}
                ]
            }
        }
    if affinity:
        spec["affinity"] = affinity
    if draw(st.integers(0, 5)) == 0:
        spec["nodeSelector"] = {"tier": "a"}
    if draw(st.integers(0, 3)) == 0:
        spec["tolerations"] = [{"key": "k1", "operator": "Exists"}]
    if node_names is not None:
        spec["nodeName"] = draw(st.sampled_from(node_names))
        if draw(st.integers(0, 7)) == 0:
            meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": spec}
