"""PodTopologySpread (upstream ``plugins/podtopologyspread``).

Filter, per hard (DoNotSchedule) constraint: ``matchNum(domain) + selfMatch - globalMin <=
maxSkew``, globalMin 0 while fewer than minDomains domains exist; a node missing a key is
UnschedulableAndUnresolvable. Counting covers nodes with every constraint's key that pass the
constraint's inclusion policies for the incoming pod, and pods of its namespace that are not
terminating.

Score, per soft (ScheduleAnyway) constraint: ``cnt * ln(size + 2) + (maxSkew - 1)`` summed and
rounded half away from zero; ``size`` is the number of domains over the feasible nodes (for
hostname: the feasible nodes not ignored) and ``cnt`` the matching pods of the node's domain over
all nodes (for hostname: of the node itself). Normalized as ``100 * (max + min - s) / max``;
ignored nodes 0, all 100 when max is 0.

Pods without constraints get the default ones (System: hostname maxSkew 3 and zone maxSkew 5,
ScheduleAnyway) with a selector upstream merges from the pod's Services, RCs, ReplicaSets and
StatefulSets. kubemu's cache holds none of those, so (as rust/kubemu-sched documents) the selector
is the pod's own labels minus per-pod ones when its controller is a ReplicaSet/StatefulSet
(apps/v1) or ReplicationController (v1), and there are no default constraints otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..cache import Cache, NodeInfo
from ..framework import (
    ERROR,
    MAX_NODE_SCORE,
    SKIP,
    UNRESOLVABLE,
    UNSCHEDULABLE,
    CycleState,
    Plugin,
    Status,
    go_div,
)
from ..model import Node, Pod
from ..pod_terms import (
    DO_NOT_SCHEDULE,
    SCHEDULE_ANYWAY,
    LabelSelector,
    SelectorError,
    SpreadConstraint,
    parse_spread_constraint,
    selector_from_set,
)
from .helper import pod_matches_node_affinity, untolerated_do_not_schedule_taint

NAME = "PodTopologySpread"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_ZONE = "topology.kubernetes.io/zone"
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
SYSTEM_DEFAULT_CONSTRAINTS = [
    (3, LABEL_HOSTNAME, SCHEDULE_ANYWAY),
    (5, LABEL_ZONE, SCHEDULE_ANYWAY),
]
PER_POD_LABELS = frozenset(
    {
        "statefulset.kubernetes.io/pod-name",
        "controller-revision-hash",
        "apps.kubernetes.io/pod-index",
    }
)
_OWNER_KINDS = {
    ("v1", "ReplicationController"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
}
_MAX_INT32 = (1 << 31) - 1
_PRE_FILTER_KEY = "PreFilter" + NAME
_PRE_SCORE_KEY = "PreScore" + NAME


def go_round(x: float) -> int:
    """Go's ``math.Round``: half away from zero."""
    t = math.trunc(x)
    if abs(x - t) >= 0.5:
        t += 1 if x > 0 else -1
    return int(t)


def default_selector(pod: Pod) -> LabelSelector | None:
    owner = next((o for o in pod.owner_refs if o.controller), None)
    if owner is None or (owner.api_version, owner.kind) not in _OWNER_KINDS:
        return None
    labels = {k: v for k, v in pod.labels.items() if k not in PER_POD_LABELS}
    return selector_from_set(labels) if labels else None


def count_matching(pods: Iterable[Pod], selector: LabelSelector, namespace: str) -> int:
    """Upstream ``countPodsMatchSelector``."""
    return sum(
        1
        for p in pods
        if not p.terminating and p.namespace == namespace and selector.matches(p.labels)
    )


def has_all_keys(node: Node, constraints: list[SpreadConstraint]) -> bool:
    return all(c.topology_key in node.labels for c in constraints)


def included(c: SpreadConstraint, pod: Pod, node: Node) -> bool:
    """Upstream ``matchNodeInclusionPolicies``."""
    if c.honor_node_affinity and not pod_matches_node_affinity(pod, node):
        return False
    return not (c.honor_node_taints and untolerated_do_not_schedule_taint(pod, node) is not None)


class CriticalPaths:
    """Upstream ``criticalPaths``: ``paths[0]`` always holds the minimum count; the second slot
    is only an upper bound after updates."""

    def __init__(self) -> None:
        self.paths: list[tuple[str, int]] = [("", _MAX_INT32), ("", _MAX_INT32)]

    def update(self, value: str, num: int) -> None:
        p = self.paths
        i = 0 if p[0][0] == value else 1 if p[1][0] == value else -1
        if i >= 0:
            p[i] = (value, num)
            if p[0][1] > p[1][1]:
                p[0], p[1] = p[1], p[0]
        elif num < p[0][1]:
            p[1] = p[0]
            p[0] = (value, num)
        elif num < p[1][1]:
            p[1] = (value, num)


@dataclass
class PreFilterState:
    constraints: list[SpreadConstraint]
    counts: list[dict[str, int]]  # per constraint: domain → matching pods, first-seen order
    paths: list[CriticalPaths]

    def min_match(self, i: int) -> int:
        if len(self.counts[i]) < self.constraints[i].min_domains:
            return 0
        return self.paths[i].paths[0][1]

    def update_with_pod(self, updated: Pod, preemptor: Pod, node: Node, delta: int) -> None:
        """AddPod (delta 1) / RemovePod (-1) of ``updated`` on ``node``."""
        if updated.namespace != preemptor.namespace or not has_all_keys(node, self.constraints):
            return
        for i, c in enumerate(self.constraints):
            if not c.selector.matches(updated.labels) or not included(c, preemptor, node):
                continue
            v = node.labels[c.topology_key]
            self.counts[i][v] = self.counts[i].get(v, 0) + delta
            self.paths[i].update(v, self.counts[i][v])


@dataclass
class PreScoreState:
    constraints: list[SpreadConstraint]
    names: list[str]  # the feasible nodes, in the order PreScore got them (as Score does)
    ignored: set[str]  # feasible nodes missing a key when every key is required
    counts: list[dict[str, int]]  # per constraint: domain → matching pods (empty for hostname)
    weights: list[float]


class PodTopologySpread(Plugin):
    name = NAME
    points = frozenset({"preFilter", "filter", "preScore", "score"})

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        args = args or {}
        self.system_defaulted = (args.get("defaultingType") or "System") == "System"
        if self.system_defaulted:
            self.defaults = list(SYSTEM_DEFAULT_CONSTRAINTS)
        else:
            self.defaults = [
                (int(c["maxSkew"]), str(c["topologyKey"]), str(c["whenUnsatisfiable"]))
                for c in args.get("defaultConstraints") or []
            ]

    def constraints(self, pod: Pod, action: str) -> list[SpreadConstraint]:
        """Upstream ``getConstraints`` / ``initPreScoreState``: the pod's own constraints for
        ``action`` when it has any, else the defaults; SelectorError for a bad selector."""
        if pod.spread_constraints:
            return [
                parse_spread_constraint(c, pod.labels)
                for c in pod.spread_constraints
                if c.get("whenUnsatisfiable") == action
            ]
        defaults = [d for d in self.defaults if d[2] == action]
        selector = default_selector(pod) if defaults else None
        if selector is None:
            return []
        return [SpreadConstraint(skew, key, selector) for skew, key, _ in defaults]

    # Filter

    def pre_filter(self, state: CycleState, pod: Pod, cache: Cache) -> list[str] | Status | None:
        try:
            cs = self.constraints(pod, DO_NOT_SCHEDULE)
        except SelectorError as e:
            return Status(ERROR, [f"get constraints from pod: {e}"])
        if not cs:
            return Status(SKIP)
        counts: list[dict[str, int]] = [{} for _ in cs]
        for info in cache.present():
            node = info.node
            if not has_all_keys(node, cs):
                continue
            for i, c in enumerate(cs):
                if not included(c, pod, node):
                    continue
                v = node.labels[c.topology_key]
                n = count_matching(info.pods.values(), c.selector, pod.namespace)
                counts[i][v] = counts[i].get(v, 0) + n
        paths = []
        for dc in counts:
            cp = CriticalPaths()
            for v, n in dc.items():
                cp.update(v, n)
            paths.append(cp)
        state[_PRE_FILTER_KEY] = PreFilterState(cs, counts, paths)
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        s = state[_PRE_FILTER_KEY]
        assert isinstance(s, PreFilterState)
        labels = node.node.labels
        for i, c in enumerate(s.constraints):
            v = labels.get(c.topology_key)
            if v is None:
                return Status(UNRESOLVABLE, [ERR_REASON_NODE_LABEL_NOT_MATCH])
            self_match = 1 if c.selector.matches(pod.labels) else 0
            if s.counts[i].get(v, 0) + self_match - s.min_match(i) > c.max_skew:
                return Status(UNSCHEDULABLE, [ERR_REASON_CONSTRAINTS_NOT_MATCH])
        return None

    # Score

    def pre_score(
        self, state: CycleState, pod: Pod, cache: Cache, nodes: list[NodeInfo]
    ) -> Status | None:
        if cache.num_nodes() == 0:
            return Status(SKIP)
        try:
            cs = self.constraints(pod, SCHEDULE_ANYWAY)
        except SelectorError as e:
            what = "obtaining pod's" if pod.spread_constraints else "setting default"
            return Status(
                ERROR, [f"calculating preScoreState: {what} soft topology spread constraints: {e}"]
            )
        if not cs:
            return Status(SKIP)
        require_all = bool(pod.spread_constraints) or not self.system_defaulted
        ignored = {i.name for i in nodes if require_all and not has_all_keys(i.node, cs)}
        counts: list[dict[str, int]] = [{} for _ in cs]
        for info in nodes:
            if info.name in ignored:
                continue
            for i, c in enumerate(cs):
                if c.topology_key != LABEL_HOSTNAME:
                    counts[i].setdefault(info.node.labels.get(c.topology_key, ""), 0)
        not_ignored = len(nodes) - len(ignored)
        weights = [
            math.log((not_ignored if c.topology_key == LABEL_HOSTNAME else len(counts[i])) + 2)
            for i, c in enumerate(cs)
        ]
        for info in cache.present():
            node = info.node
            if require_all and not has_all_keys(node, cs):
                continue
            for i, c in enumerate(cs):
                if not included(c, pod, node):
                    continue
                v = node.labels.get(c.topology_key, "")
                if v in counts[i]:
                    counts[i][v] += count_matching(info.pods.values(), c.selector, pod.namespace)
        names = [i.name for i in nodes]
        state[_PRE_SCORE_KEY] = PreScoreState(cs, names, ignored, counts, weights)
        return None

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        s = state[_PRE_SCORE_KEY]
        assert isinstance(s, PreScoreState)
        labels = node.node.labels
        if node.name in s.ignored:
            return 0
        total = 0.0
        for i, c in enumerate(s.constraints):
            v = labels.get(c.topology_key)
            if v is None:
                continue
            if c.topology_key == LABEL_HOSTNAME:
                cnt = count_matching(node.pods.values(), c.selector, pod.namespace)
            else:
                cnt = s.counts[i][v]
            total += float(cnt) * s.weights[i] + float(c.max_skew - 1)
        return go_round(total)

    def normalize(self, state: CycleState, pod: Pod, scores: list[int]) -> None:
        s = state[_PRE_SCORE_KEY]
        assert isinstance(s, PreScoreState)
        ignored = [n in s.ignored for n in s.names]
        valid = [v for v, ign in zip(scores, ignored, strict=True) if not ign]
        lo = min(valid, default=0)
        hi = max([0, *valid])
        for k, (v, ign) in enumerate(zip(scores, ignored, strict=True)):
            if ign:
                scores[k] = 0
            elif hi == 0:
                scores[k] = MAX_NODE_SCORE
            else:
                scores[k] = go_div(MAX_NODE_SCORE * (hi + lo - v), hi)
