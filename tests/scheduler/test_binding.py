"""kubemu._core.Scheduler's Python face: errors, cache events, assume/forget, profiles."""

from __future__ import annotations

from typing import Any

import pytest
from kubemu._core import Scheduler
from kubemu.apiserver.codec import encode

Obj = dict[str, Any]


def node(name: str, cpu: str = "2", pods: str = "110", **labels: str) -> bytes:
    return encode(
        {
            "metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": pods}},
        }
    )


def pod(name: str, cpu: str = "1", node_name: str | None = None, uid: str | None = None) -> bytes:
    spec: Obj = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
    if node_name:
        spec["nodeName"] = node_name
    meta: Obj = {"name": name, "namespace": "ns"}
    if uid:
        meta["uid"] = uid
    return encode({"metadata": meta, "spec": spec})


def test_malformed_input_is_value_error() -> None:
    s = Scheduler()
    for bad in (b"", b"\xc1", encode([1, 2]), encode({"metadata": {}})):
        with pytest.raises(ValueError, match="node"):
            s.add_node(bad)
    with pytest.raises(ValueError, match="quantities must match"):
        s.add_node(encode({"metadata": {"name": "n"}, "status": {"allocatable": {"cpu": "x"}}}))
    s.add_node(node("n1"))
    with pytest.raises(ValueError, match=r"pods\[1\]"):
        s.schedule_batch([pod("a"), b"\x93", pod("b")])
    assert s.pod_count == 0  # nothing scheduled when a pod does not decode
    with pytest.raises(ValueError, match=r"spec\.nodeName is empty"):
        s.add_pod(pod("a"))
    with pytest.raises(TypeError):
        s.schedule_batch(["not bytes"])  # type: ignore[list-item]


def test_bad_profiles_are_value_errors() -> None:
    with pytest.raises(ValueError, match="percentage_of_nodes_to_score"):
        Scheduler(0, 101)
    with pytest.raises(ValueError, match="invalid profile config"):
        Scheduler(0, 0, b"\xc1")
    with pytest.raises(ValueError, match=r"scoringStrategy\.type"):
        Scheduler(
            profile=encode(
                {
                    "pluginConfig": [
                        {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "X"}}}
                    ]
                }
            )
        )
    with pytest.raises(ValueError, match="does not exist"):
        Scheduler(profile=encode({"plugins": {"multiPoint": {"enabled": [{"name": "Nope"}]}}}))
    with pytest.raises(ValueError, match="unknown extension point"):
        Scheduler(profile=encode({"plugins": {"sideways": {}}}))
    with pytest.raises(ValueError, match="unknown field"):
        Scheduler(profile=encode({"plugin": {}}))


def test_profile_merges_with_defaults() -> None:
    s = Scheduler()
    assert s.plugins("score") == [
        "TaintToleration",
        "NodeAffinity",
        "NodeResourcesFit",
        "PodTopologySpread",
        "InterPodAffinity",
        "NodeResourcesBalancedAllocation",
        "ImageLocality",
    ]
    cfg = {"plugins": {"multiPoint": {"disabled": [{"name": "ImageLocality"}]}}}
    s = Scheduler(profile=encode(cfg))
    assert "ImageLocality" not in s.plugins("score")
    assert "NodePorts" in s.plugins("filter")
    cfg = {"plugins": {"score": {"disabled": [{"name": "*"}]}}}
    assert Scheduler(profile=encode(cfg)).plugins("score") == []
    with pytest.raises(ValueError, match="unknown extension point"):
        s.plugins("bogus")


def test_assume_forget_and_fit_error() -> None:
    s = Scheduler(seed=7)
    s.add_node(node("n1", cpu="1"))
    s.add_node(node("n2", cpu="1"))
    assert s.node_count == 2
    r1, r2, r3 = s.schedule_batch([pod("a"), pod("b"), pod("c")])
    assert {r1.node, r2.node} == {"n1", "n2"}  # each assumed before the next
    assert r1.status == "scheduled" and r1.message is None and r1.reasons == {}
    assert r3.node is None and r3.status == "unschedulable"
    assert r3.message == (
        "0/2 nodes are available: 2 Insufficient cpu. "
        "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
    )
    assert r3.reasons == {"Insufficient cpu": 2}
    assert r3.pod == "ns/c"
    assert s.pod_node("ns", "a") == r1.node
    # A failed bind: forget frees the node for the next pod.
    assert s.forget("ns", "a")
    assert not s.forget("ns", "a")
    assert s.pod_node("ns", "a") is None
    (r,) = s.schedule_batch([pod("c")])
    assert r.node == r1.node


def test_bound_pods_nodes_and_updates() -> None:
    s = Scheduler()
    s.add_pod(pod("early", node_name="n1", uid="u1"))  # before its node: kept, accounted later
    assert s.node_count == 0
    (r,) = s.schedule_batch([pod("x")])
    assert r.status == "error" and r.message == "no nodes available to schedule pods"
    s.add_node(node("n1", cpu="1"))
    (r,) = s.schedule_batch([pod("y")])
    assert r.message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
    )
    assert r.nominated_node == "" and r.victims == []
    assert s.remove_pod("ns", "early")
    assert not s.remove_pod("ns", "early")
    s.update_node(node("n1", cpu="1", pods="0"))
    (r,) = s.schedule_batch([pod("y")])
    assert r.reasons == {"Too many pods": 1}
    s.update_node(node("n1", cpu="3"))
    (r,) = s.schedule_batch([pod("y")])
    assert r.node == "n1"
    # Moving a bound pod: add_pod again with another node.
    s.add_node(node("n2", cpu="3"))
    s.add_pod(pod("y", node_name="n2"))
    assert s.pod_node("ns", "y") == "n2"
    assert s.remove_node("n1") and not s.remove_node("n1")
    assert s.node_count == 1
    (r,) = s.schedule_batch([pod("z", cpu="3")])
    assert r.message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
    )


def test_record_scores_and_counts() -> None:
    s = Scheduler(seed=1, record_scores=True)
    for i in range(3):
        s.add_node(node(f"n{i}"))
    (r,) = s.schedule_batch([pod("a")])
    assert r.feasible_nodes == 3 and r.evaluated_nodes == 3
    assert r.scores is not None and len(r.scores) == 3
    _name, total, plugins = r.scores[0]
    assert total == sum(plugins.values())
    assert plugins["TaintToleration"] == 300
    assert "ScheduleResult" in repr(r)
    assert Scheduler().schedule_batch([]) == []


def test_namespace_labels_feed_affinity_namespace_selectors() -> None:
    s = Scheduler(seed=3)
    for n in ("n1", "n2", "n3"):
        s.add_node(node(n, **{"kubernetes.io/hostname": n}))
    web: Obj = {
        "metadata": {"name": "web", "namespace": "a", "uid": "u-web", "labels": {"app": "web"}},
        "spec": {"nodeName": "n2", "containers": [{"name": "c"}]},
    }
    s.add_pod(encode(web))
    term = {
        "labelSelector": {"matchLabels": {"app": "web"}},
        "namespaceSelector": {"matchLabels": {"team": "x"}},
        "topologyKey": "kubernetes.io/hostname",
    }
    follower = encode(
        {
            "metadata": {"name": "f", "namespace": "b"},
            "spec": {
                "containers": [{"name": "c"}],
                "affinity": {
                    "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
                },
            },
        }
    )
    # Without namespace labels no namespace is selected: no pod matches the term.
    (r,) = s.schedule_batch([follower])
    assert r.node is None and "didn't match pod affinity rules" in (r.message or "")
    assert s.set_namespace(encode({"metadata": {"name": "a", "labels": {"team": "x"}}})) == "a"
    (r,) = s.schedule_batch([follower])
    assert r.node == "n2"
    assert s.remove_namespace("a") and not s.remove_namespace("a")
    with pytest.raises(ValueError, match="namespace"):
        s.set_namespace(b"\xc1")
