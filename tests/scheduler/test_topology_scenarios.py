"""Hand-worked PodTopologySpread and InterPodAffinity cases, run against kubemu._core and the
Python reference (which must agree), with the expected values computed by hand from upstream's
formulas (podtopologyspread/filtering.go, scoring.go; interpodaffinity/filtering.go, scoring.go).
"""

from __future__ import annotations

from typing import Any

import pytest
from kubemu._core import Scheduler as RustScheduler
from kubemu._core import ScheduleResult
from kubemu.apiserver.codec import encode

from .reference.engine import Scheduler as RefScheduler
from .reference.profile import Profile
from .test_differential import schedule_both

Obj = dict[str, Any]
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
RACK = "example.com/rack"
PTS = "PodTopologySpread"
IPA = "InterPodAffinity"
RS_OWNER = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "name": "rs",
    "uid": "u",
    "controller": True,
}


def node(name: str, **labels: str) -> Obj:
    return {
        "metadata": {"name": name, "labels": {HOSTNAME: name, **labels}},
        "status": {"allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"}},
    }


def pod(
    name: str,
    labels: dict[str, str] | None = None,
    *,
    namespace: str = "default",
    on: str | None = None,
    spread: list[Obj] | None = None,
    affinity: Obj | None = None,
    owner: Obj | None = None,
    **spec: Any,
) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    s: Obj = {"containers": [{"name": "c", "image": "img"}], **spec}
    if on is not None:
        s["nodeName"] = on
    if spread:
        s["topologySpreadConstraints"] = spread
    if affinity:
        s["affinity"] = affinity
    return {"metadata": meta, "spec": s}


def web(n: int, on: str, **kw: Any) -> list[Obj]:
    return [pod(f"web-{on}-{i}", {"app": "web"}, on=on, **kw) for i in range(n)]


def spread(key: str, skew: int = 1, when: str = "DoNotSchedule", **extra: Any) -> Obj:
    return {
        "maxSkew": skew,
        "topologyKey": key,
        "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}},
        **extra,
    }


def term(
    key: str, namespaces: list[str] | None = None, ns_selector: Obj | None = None, **ml: str
) -> Obj:
    t: Obj = {"labelSelector": {"matchLabels": ml}, "topologyKey": key}
    if namespaces is not None:
        t["namespaces"] = namespaces
    if ns_selector is not None:
        t["namespaceSelector"] = ns_selector
    return t


def run(
    nodes: list[Obj],
    existing: list[Obj],
    incoming: Obj,
    *,
    namespaces: dict[str, dict[str, str]] | None = None,
    plugin_config: list[Obj] | None = None,
) -> ScheduleResult:
    """Schedules ``incoming`` on both implementations (asserting they agree)."""
    cfg = plugin_config or []
    rust = RustScheduler(0, 100, encode({"pluginConfig": cfg}) if cfg else None, record_scores=True)
    ref = RefScheduler(0, 100, Profile({c["name"]: c["args"] for c in cfg}))
    for n in nodes:
        rust.add_node(encode(n))
        ref.add_node(n)
    for name, labels in (namespaces or {}).items():
        ns = {"metadata": {"name": name, "labels": labels}}
        rust.set_namespace(encode(ns))
        ref.set_namespace(ns)
    for p in existing:
        rust.add_pod(encode(p))
        ref.add_pod(p)
    (result,) = schedule_both(rust, ref, [incoming])
    return result


def fit_error(r: ScheduleResult) -> str | None:
    """The FitError part of the message, without PostFilter's "preemption: ..." suffix."""
    return None if r.message is None else r.message.split(" preemption: ", 1)[0]


def plugin_scores(r: ScheduleResult, plugin: str) -> dict[str, int]:
    assert r.scores is not None
    return {name: per[plugin] for name, _, per in r.scores}


# PodTopologySpread: Filter


@pytest.mark.parametrize(
    ("min_domains", "chosen", "message"),
    [
        # 2 domains, global min 1: z0 2+1-1 = 2 > 1 fails, z1 1+1-1 = 1 passes.
        (None, "b", None),
        (2, "b", None),
        # minDomains 3 > 2 domains: global min is 0, z1 gives 1+1-0 = 2 > 1 too.
        (
            3,
            None,
            "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints.",
        ),
    ],
)
def test_skew_with_min_domains(
    min_domains: int | None, chosen: str | None, message: str | None
) -> None:
    extra: Obj = {} if min_domains is None else {"minDomains": min_domains}
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z1"})]
    r = run(
        nodes, web(2, "a") + web(1, "b"), pod("p", {"app": "web"}, spread=[spread(ZONE, **extra)])
    )
    assert r.node == chosen
    assert fit_error(r) == message
    if chosen is not None:
        assert r.feasible_nodes == 1


def test_pod_not_matching_its_own_selector_adds_no_self_match() -> None:
    # z0 2+0-1 = 1 <= 1: both nodes pass when the incoming pod is not counted.
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z1"})]
    r = run(nodes, web(2, "a") + web(1, "b"), pod("p", {"app": "db"}, spread=[spread(ZONE)]))
    assert r.feasible_nodes == 2


def test_node_missing_topology_key_is_unresolvable() -> None:
    nodes = [node("a", **{ZONE: "z0"}), node("b")]
    r = run(nodes, [], pod("p", {"app": "web"}, spread=[spread(ZONE)]))
    assert r.node == "a"
    assert r.feasible_nodes == 1
    r = run([node("b"), node("c")], [], pod("p", {"app": "web"}, spread=[spread(ZONE)]))
    assert fit_error(r) == (
        "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints "
        "(missing required label)."
    )


@pytest.mark.parametrize("policy", ["Honor", "Ignore"])
def test_node_affinity_policy(policy: str) -> None:
    # The pod selects tier=a (a, c). Honor counts z0:1 and z2:1 → min 1 → a and c pass
    # (1+1-1 = 1). Ignore also counts b's z1:0 → min 0 → 1+1-0 = 2 > 1 on a and c.
    nodes = [
        node("a", tier="a", **{ZONE: "z0"}),
        node("b", tier="b", **{ZONE: "z1"}),
        node("c", tier="a", **{ZONE: "z2"}),
    ]
    incoming = pod(
        "p",
        {"app": "web"},
        spread=[spread(ZONE, nodeAffinityPolicy=policy)],
        nodeSelector={"tier": "a"},
    )
    r = run(nodes, web(1, "a") + web(1, "c"), incoming)
    if policy == "Honor":
        assert r.feasible_nodes == 2
    else:
        assert fit_error(r) == (
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
            "2 node(s) didn't match pod topology spread constraints."
        )


@pytest.mark.parametrize(("policy", "feasible"), [("Honor", 2), ("Ignore", 0)])
def test_node_taints_policy(policy: str, feasible: int) -> None:
    # b (z1, no matching pods) has an untolerated NoSchedule taint: Honor leaves z1 out of the
    # counts (min 1, a and c pass), Ignore keeps it (min 0, 1+1-0 > 1 on a and c).
    tainted = node("b", **{ZONE: "z1"})
    tainted["spec"] = {"taints": [{"key": "k", "value": "", "effect": "NoSchedule"}]}
    nodes = [node("a", **{ZONE: "z0"}), tainted, node("c", **{ZONE: "z2"})]
    incoming = pod("p", {"app": "web"}, spread=[spread(ZONE, nodeTaintsPolicy=policy)])
    r = run(nodes, web(1, "a") + web(1, "c"), incoming)
    assert r.feasible_nodes == feasible


def test_match_label_keys_narrow_the_selector() -> None:
    # Only rev=2 pods count: z0 has none, z1 one → min 0; z1 1+1-0 = 2 > 1 fails.
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z1"})]
    existing = [pod("old", {"app": "web", "rev": "1"}, on="a")] * 1 + [
        pod("old2", {"app": "web", "rev": "1"}, on="a"),
        pod("new", {"app": "web", "rev": "2"}, on="b"),
    ]
    c = spread(ZONE, matchLabelKeys=["rev"])
    r = run(nodes, existing, pod("p", {"app": "web", "rev": "2"}, spread=[c]))
    assert (r.node, r.feasible_nodes) == ("a", 1)


# PodTopologySpread: Score


def test_soft_constraints_zone_and_hostname_scores() -> None:
    # Feasible a, b (z0) and c (z1). Zone: 2 domains → w = ln 4; counts z0 2, z1 1.
    # Hostname (maxSkew 2): 3 nodes → w = ln 5; per node 2, 0, 1.
    # raw a = 2 ln4 + 2 ln5 + 1 = 6.99 → 7; b = 2 ln4 + 1 = 3.77 → 4; c = ln4 + ln5 + 1 = 4.00 → 4
    # normalized 100 (max + min - s) / max: a 400/7 = 57, b 100, c 100; times weight 2.
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z0"}), node("c", **{ZONE: "z1"})]
    soft = [spread(ZONE, when="ScheduleAnyway"), spread(HOSTNAME, 2, when="ScheduleAnyway")]
    r = run(nodes, web(2, "a") + web(1, "c"), pod("p", {"app": "web"}, spread=soft))
    assert plugin_scores(r, PTS) == {"a": 114, "b": 200, "c": 200}


def test_soft_constraint_ignores_nodes_missing_the_key() -> None:
    # c has no zone: ignored (score 0). a (z0, 1 pod) and b (z1, 0): w = ln 4;
    # raw a = ln 4 = 1.39 → 1, b = 0; max 1, min 0 → a 100 (1+0-1)/1 = 0, b 100.
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z1"}), node("c")]
    soft = [spread(ZONE, when="ScheduleAnyway")]
    r = run(nodes, web(1, "a"), pod("p", {"app": "web"}, spread=soft))
    assert plugin_scores(r, PTS) == {"a": 0, "b": 200, "c": 0}


def test_system_default_constraints_for_replicaset_pods() -> None:
    # A ReplicaSet pod with no constraints gets hostname (maxSkew 3) and zone (maxSkew 5),
    # ScheduleAnyway, selector app=web; nodes need not have every key. Zone domains over a, b, c:
    # z0, z1 and "" (c has no zone) → w = ln 5; counts z0 1, z1 0, "" 1. Hostname: 3 nodes → ln 5.
    # raw a = (ln5 + 4) + (ln5 + 2) = 9.22 → 9; b = 4 + 2 = 6; c = ln5 + 2 = 3.61 → 4 (no zone term)
    # normalized: a 100*4/9 = 44, b 100*7/9 = 77, c 100; times 2.
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z1"}), node("c")]
    existing = web(1, "a", owner=RS_OWNER) + web(1, "c", owner=RS_OWNER)
    r = run(nodes, existing, pod("p", {"app": "web"}, owner=RS_OWNER))
    assert plugin_scores(r, PTS) == {"a": 88, "b": 154, "c": 200}
    assert r.node == "c"
    # Without an owning controller there is no default selector: the plugin does not score.
    r = run(nodes, existing, pod("p", {"app": "web"}))
    assert r.scores is not None and all(PTS not in per for _, _, per in r.scores)


# InterPodAffinity: Filter


def test_existing_pod_anti_affinity_is_symmetric() -> None:
    # e on a (z0) repels app=web pods from its zone: a and b fail, c (z1) passes.
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z0"}), node("c", **{ZONE: "z1"})]
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, app="web")]
        }
    }
    existing = [pod("e", {"app": "db"}, on="a", affinity=anti)]
    r = run(nodes, existing, pod("p", {"app": "web"}))
    assert (r.node, r.feasible_nodes, r.evaluated_nodes) == ("c", 1, 3)
    r = run(nodes[:2], existing, pod("p", {"app": "web"}))
    assert fit_error(r) == (
        "0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules."
    )


@pytest.mark.parametrize(
    ("ns_term", "ns_labels", "feasible"),
    [
        ({}, {}, 3),  # the term applies to e's own namespace (ns1) only
        ({"namespaces": ["default"]}, {}, 1),
        ({"ns_selector": {"matchLabels": {"team": "a"}}}, {"team": "a"}, 1),
        ({"ns_selector": {"matchLabels": {"team": "a"}}}, {"team": "b"}, 3),
        ({"ns_selector": {}}, {}, 1),  # {} selects every namespace
    ],
)
def test_existing_anti_affinity_namespaces(
    ns_term: Obj, ns_labels: dict[str, str], feasible: int
) -> None:
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z0"}), node("c", **{ZONE: "z1"})]
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, **ns_term, app="web")]
        }
    }
    existing = [pod("e", {"app": "db"}, namespace="ns1", on="a", affinity=anti)]
    r = run(nodes, existing, pod("p", {"app": "web"}), namespaces={"default": ns_labels, "ns1": {}})
    assert r.feasible_nodes == feasible


@pytest.mark.parametrize(("ns2_labels", "chosen"), [({"team": "b"}, "c"), ({"team": "a"}, None)])
def test_required_affinity_with_namespace_selector(
    ns2_labels: dict[str, str], chosen: str | None
) -> None:
    # The incoming pod wants a db pod in its zone from team=b namespaces; the only db pod is in
    # ns2 on c (z1). When ns2 is not team=b nothing matches and the pod (app=web) does not match
    # its own term: every node fails, UnschedulableAndUnresolvable.
    nodes = [node("a", **{ZONE: "z0"}), node("c", **{ZONE: "z1"})]
    aff = {
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                term(ZONE, ns_selector={"matchLabels": {"team": "b"}}, app="db")
            ]
        }
    }
    existing = [pod("db", {"app": "db"}, namespace="ns2", on="c")]
    r = run(nodes, existing, pod("p", {"app": "web"}, affinity=aff), namespaces={"ns2": ns2_labels})
    assert r.node == chosen
    if chosen is None:
        assert fit_error(r) == "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."


def test_first_pod_of_a_self_affine_group_passes() -> None:
    # No pod matches app=web anywhere, the pod matches its own term: nodes with the key pass.
    nodes = [node("a", **{ZONE: "z0"}), node("b", **{ZONE: "z1"}), node("c")]
    aff = {
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, app="web")]}
    }
    r = run(nodes, [], pod("p", {"app": "web"}, affinity=aff))
    assert r.feasible_nodes == 2


def test_incoming_anti_affinity() -> None:
    nodes = [node("a", **{RACK: "r0"}), node("b", **{RACK: "r0"}), node("c", **{RACK: "r1"})]
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term(RACK, app="web")]
        }
    }
    r = run(nodes, web(1, "b"), pod("p", {"app": "web"}, affinity=anti))
    assert (r.node, r.feasible_nodes) == ("c", 1)


# InterPodAffinity: Score


@pytest.mark.parametrize(
    ("hard_weight", "expected"), [(1, [200, 200, 0, 180]), (7, [200, 200, 0, 116])]
)
def test_existing_pods_terms_score_with_hard_pod_affinity_weight(
    hard_weight: int, expected: list[int]
) -> None:
    # e0 on a (z0) requires app=web pods in its zone: z0 += hardPodAffinityWeight. e1 on c (z1)
    # prefers (weight 10) no app=web pods in its zone: z1 -= 10. d (z2) scores 0.
    # Weight 1: raw 1, 1, -10, 0 → 100 (s + 10)/11 → 100, 100, 0, 90 (90.9 truncated).
    # Weight 7: raw 7, 7, -10, 0 → 100 (s + 10)/17 → 100, 100, 0, 58.
    nodes = [
        node("a", **{ZONE: "z0"}),
        node("b", **{ZONE: "z0"}),
        node("c", **{ZONE: "z1"}),
        node("d", **{ZONE: "z2"}),
    ]
    req = {
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, app="web")]}
    }
    pref_anti = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": term(ZONE, app="web")}
            ]
        }
    }
    existing = [
        pod("e0", {"app": "x"}, on="a", affinity=req),
        pod("e1", {"app": "y"}, on="c", affinity=pref_anti),
    ]
    cfg = [{"name": IPA, "args": {"hardPodAffinityWeight": hard_weight}}]
    r = run(nodes, existing, pod("p", {"app": "web"}), plugin_config=cfg)
    assert plugin_scores(r, IPA) == dict(zip("abcd", expected, strict=True))


def test_score_normalizes_between_the_lowest_and_highest_node() -> None:
    # Raw a = z0 (1) + r0 (1) = 2, b = r0 (1) = 1: all positive. Current upstream normalizes
    # 100 (s - min)/(max - min) with min and max over the nodes → a 100, b 0 (the pre-1.26 code
    # clamped min to <= 0 and would give b 50).
    nodes = [node("a", **{ZONE: "z0", RACK: "r0"}), node("b", **{ZONE: "z1", RACK: "r0"})]
    zone_req = {
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, app="web")]}
    }
    rack_req = {
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(RACK, app="web")]}
    }
    existing = [pod("e0", on="a", affinity=zone_req), pod("e1", on="b", affinity=rack_req)]
    r = run(nodes, existing, pod("p", {"app": "web"}))
    assert plugin_scores(r, IPA) == {"a": 200, "b": 0}


def test_incoming_preferred_terms_score_all_pods() -> None:
    # The incoming pod prefers db pods in its rack (weight 30) and avoids web pods on the same
    # host (weight 50): r0 += 30 (db on a), host b -= 50 (web on b). Raw a 30, b 30 - 50 = -20,
    # c 0 → 100 (s + 20)/50: a 100, b 0, c 40.
    nodes = [node("a", **{RACK: "r0"}), node("b", **{RACK: "r0"}), node("c", **{RACK: "r1"})]
    aff = {
        "podAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 30, "podAffinityTerm": term(RACK, app="db")}
            ]
        },
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 50, "podAffinityTerm": term(HOSTNAME, app="web")}
            ]
        },
    }
    existing = [pod("db", {"app": "db"}, on="a"), *web(1, "b")]
    r = run(nodes, existing, pod("p", {"app": "web"}, affinity=aff))
    assert plugin_scores(r, IPA) == {"a": 200, "b": 0, "c": 80}
    assert r.node == "a"
