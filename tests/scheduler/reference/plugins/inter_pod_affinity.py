"""InterPodAffinity (upstream ``plugins/interpodaffinity``).

The incoming pod's terms have a non-empty ``namespaceSelector`` replaced by the names of the
namespaces it selects (``mergeAffinityTermNamespacesIfNotEmpty``); existing pods' terms are
matched against the incoming pod's namespace labels.

Filter, in order: required affinity (every term's key on the node and, per term, a pod matching
all terms in the node's domain, unless no pod anywhere matches and the pod matches its own terms;
UnschedulableAndUnresolvable); required anti-affinity (no matching pod in the node's domain of a
term; Unschedulable); existing pods' required anti-affinity terms matching the incoming pod
(symmetry: no such pod in a domain the node shares; Unschedulable).

Score, per topology pair over existing pods (all pods when the incoming pod has preferred terms,
else pods with affinity terms; pods on unlabelled nodes skipped): +w per incoming preferred
affinity term they match, -w per preferred anti-affinity term, +hardPodAffinityWeight per their
required affinity term the incoming pod matches, +/-w per their preferred (anti-)affinity term it
matches. A node sums its pairs; normalized as ``int(100 * (s - min) / (max - min))`` (0 when all
equal). Skip when no pair was touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..cache import Cache, NodeInfo
from ..framework import (
    MAX_NODE_SCORE,
    SKIP,
    UNRESOLVABLE,
    UNSCHEDULABLE,
    CycleState,
    Plugin,
    Status,
)
from ..model import Node, Pod
from ..pod_terms import NOTHING, AffinityTerm

NAME = "InterPodAffinity"
ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
_PRE_FILTER_KEY = "PreFilter" + NAME
_PRE_SCORE_KEY = "PreScore" + NAME
_NO_LABELS: dict[str, str] = {}

Pair = tuple[str, str]


def resolve(term: AffinityTerm, cache: Cache) -> AffinityTerm:
    """A namespace selector with requirements becomes the namespaces it selects."""
    sel = term.namespace_selector
    if sel.reqs is None or sel.empty():
        return term
    names = {n for n, lb in cache.namespaces.items() if sel.matches(lb)}
    return replace(term, namespaces=term.namespaces | names, namespace_selector=NOTHING)


def _update(counts: dict[Pair, int], node: Node, key: str, delta: int) -> None:
    v = node.labels.get(key)
    if v is None:
        return
    n = counts.get((key, v), 0) + delta
    if n == 0:
        counts.pop((key, v), None)
    else:
        counts[(key, v)] = n


def matches_all(terms: list[AffinityTerm], pod: Pod) -> bool:
    """Upstream ``podMatchesAllAffinityTerms`` for the incoming pod's (resolved) terms."""
    return bool(terms) and all(t.matches(pod.namespace, pod.labels, _NO_LABELS) for t in terms)


@dataclass
class PreFilterState:
    affinity: list[AffinityTerm]
    anti_affinity: list[AffinityTerm]
    ns_labels: dict[str, str]
    existing_anti_counts: dict[Pair, int]
    affinity_counts: dict[Pair, int]
    anti_counts: dict[Pair, int]

    def update_with_pod(self, updated: Pod, pod: Pod, node: Node, delta: int) -> None:
        """AddPod (delta 1) / RemovePod (-1) of ``updated`` on ``node`` for incoming ``pod``."""
        for t in updated.terms.required_anti_affinity:
            if t.matches(pod.namespace, pod.labels, self.ns_labels):
                _update(self.existing_anti_counts, node, t.topology_key, delta)
        if matches_all(self.affinity, updated):
            for t in self.affinity:
                _update(self.affinity_counts, node, t.topology_key, delta)
        for t in self.anti_affinity:
            if t.matches(updated.namespace, updated.labels, _NO_LABELS):
                _update(self.anti_counts, node, t.topology_key, delta)


class InterPodAffinity(Plugin):
    name = NAME
    points = frozenset({"preFilter", "filter", "preScore", "score"})

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        args = args or {}
        w = args.get("hardPodAffinityWeight")
        self.hard_pod_affinity_weight = 1 if w is None else int(w)
        self.ignore_preferred_terms_of_existing_pods = bool(
            args.get("ignorePreferredTermsOfExistingPods")
        )

    # Filter

    def pre_filter(self, state: CycleState, pod: Pod, cache: Cache) -> list[str] | Status | None:
        if pod.terms.error is not None:
            return Status(UNRESOLVABLE, [f"parsing pod: {pod.terms.error}"])
        ns_labels = cache.namespaces.get(pod.namespace, _NO_LABELS)
        existing: dict[Pair, int] = {}
        nodes = cache.present()
        for info in nodes:
            for ep in info.pods.values():
                for t in ep.terms.required_anti_affinity:
                    if t.matches(pod.namespace, pod.labels, ns_labels):
                        _update(existing, info.node, t.topology_key, 1)
        if (
            not existing
            and not pod.terms.required_affinity
            and not pod.terms.required_anti_affinity
        ):
            return Status(SKIP)
        s = PreFilterState(
            [resolve(t, cache) for t in pod.terms.required_affinity],
            [resolve(t, cache) for t in pod.terms.required_anti_affinity],
            dict(ns_labels),
            existing,
            {},
            {},
        )
        for info in nodes:
            for ep in info.pods.values():
                if matches_all(s.affinity, ep):
                    for t in s.affinity:
                        _update(s.affinity_counts, info.node, t.topology_key, 1)
                for t in s.anti_affinity:
                    if t.matches(ep.namespace, ep.labels, _NO_LABELS):
                        _update(s.anti_counts, info.node, t.topology_key, 1)
        state[_PRE_FILTER_KEY] = s
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        s = state[_PRE_FILTER_KEY]
        assert isinstance(s, PreFilterState)
        labels = node.node.labels
        pods_exist = True
        for t in s.affinity:
            v = labels.get(t.topology_key)
            if v is None:
                return Status(UNRESOLVABLE, [ERR_REASON_AFFINITY])
            if s.affinity_counts.get((t.topology_key, v), 0) <= 0:
                pods_exist = False
        if not pods_exist and not (not s.affinity_counts and matches_all(s.affinity, pod)):
            return Status(UNRESOLVABLE, [ERR_REASON_AFFINITY])
        for t in s.anti_affinity:
            v = labels.get(t.topology_key)
            if v is not None and s.anti_counts.get((t.topology_key, v), 0) > 0:
                return Status(UNSCHEDULABLE, [ERR_REASON_ANTI_AFFINITY])
        if any(s.existing_anti_counts.get((k, v), 0) > 0 for k, v in labels.items()):
            return Status(UNSCHEDULABLE, [ERR_REASON_EXISTING_ANTI_AFFINITY])
        return None

    # Score

    def pre_score(
        self, state: CycleState, pod: Pod, cache: Cache, nodes: list[NodeInfo]
    ) -> Status | None:
        own_pa = pod.terms.preferred_affinity
        own_pn = pod.terms.preferred_anti_affinity
        has_constraints = bool(own_pa or own_pn)
        if self.ignore_preferred_terms_of_existing_pods and not has_constraints:
            return Status(SKIP)
        pa = [(w, resolve(t, cache)) for w, t in own_pa]
        pn = [(w, resolve(t, cache)) for w, t in own_pn]
        ns_labels = cache.namespaces.get(pod.namespace, _NO_LABELS)
        scores: dict[str, dict[str, int]] = {}

        def process(
            term: AffinityTerm, weight: int, target: Pod, nsl: Mapping[str, str], node: Node
        ) -> None:
            if not term.matches(target.namespace, target.labels, nsl):
                return
            v = node.labels.get(term.topology_key)
            if v is not None:
                m = scores.setdefault(term.topology_key, {})
                m[v] = m.get(v, 0) + weight

        for info in cache.present():
            node = info.node
            if not node.labels:
                continue
            for ep in info.pods.values():
                if not has_constraints and not ep.terms.any():
                    continue
                for w, t in pa:
                    process(t, w, ep, _NO_LABELS, node)
                for w, t in pn:
                    process(t, -w, ep, _NO_LABELS, node)
                if self.hard_pod_affinity_weight > 0:
                    for t in ep.terms.required_affinity:
                        process(t, self.hard_pod_affinity_weight, pod, ns_labels, node)
                for w, t in ep.terms.preferred_affinity:
                    process(t, w, pod, ns_labels, node)
                for w, t in ep.terms.preferred_anti_affinity:
                    process(t, -w, pod, ns_labels, node)
        if not scores:
            return Status(SKIP)
        state[_PRE_SCORE_KEY] = scores
        return None

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        scores = state[_PRE_SCORE_KEY]
        assert isinstance(scores, dict)
        labels = node.node.labels
        return sum(values.get(labels[k], 0) for k, values in scores.items() if k in labels)

    def normalize(self, state: CycleState, pod: Pod, scores: list[int]) -> None:
        if not scores:
            return
        lo, hi = min(scores), max(scores)
        diff = hi - lo
        for k, v in enumerate(scores):
            scores[k] = int(float(MAX_NODE_SCORE) * ((v - lo) / diff)) if diff > 0 else 0
