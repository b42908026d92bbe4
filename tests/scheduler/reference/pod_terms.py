"""The pod-to-pod parts of a pod: label selectors (upstream ``metav1.LabelSelectorAsSelector``),
inter-pod affinity terms (``framework.AffinityTerm``), topology spread constraints
(PodTopologySpread's ``topologySpreadConstraint``) and controller owner references.

A nil selector matches nothing, ``{}`` matches everything. A term with neither ``namespaces``
nor ``namespaceSelector`` applies to its pod's own namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    """A label requirement: ``In``, ``NotIn`` (absent keys match), ``Exists``, ``DoesNotExist``."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, value: str | None) -> bool:
        if self.op == "In":
            return value is not None and value in self.values
        if self.op == "NotIn":
            return value is None or value not in self.values
        if self.op == "Exists":
            return value is not None
        return value is None


DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class LabelSelector:
    """``reqs`` None: matches nothing; an empty tuple: matches everything."""

    reqs: tuple[Requirement, ...] | None

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.reqs is None:
            return False
        return all(r.matches(labels.get(r.key)) for r in self.reqs)

    def empty(self) -> bool:
        """Upstream ``Selector.Empty()``: no requirements (matches everything)."""
        return self.reqs is not None and not self.reqs


NOTHING = LabelSelector(None)
EVERYTHING = LabelSelector(())


def selector_from_set(labels: Mapping[str, str]) -> LabelSelector:
    return LabelSelector(tuple(Requirement(k, "In", (v,)) for k, v in labels.items()))


def parse_selector(raw: Mapping[str, Any] | None) -> LabelSelector:
    """``matchLabels`` become ``In`` requirements; SelectorError for an invalid operator or
    values that do not fit it."""
    if raw is None:
        return NOTHING
    reqs = [Requirement(k, "In", (v,)) for k, v in (raw.get("matchLabels") or {}).items()]
    for e in raw.get("matchExpressions") or []:
        op = e.get("operator") or ""
        key = e.get("key") or ""
        values = tuple(e.get("values") or [])
        if op not in _SELECTOR_OPS:
            raise SelectorError(f'"{op}" is not a valid label selector operator')
        if op in ("In", "NotIn") and not values:
            raise SelectorError(f"for 'in', 'notin' operators, values set can't be empty: {key}")
        if op in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"values set must be empty for exists and does not exist: {key}")
        reqs.append(Requirement(key, op, values))
    return LabelSelector(tuple(reqs))


@dataclass(frozen=True)
class AffinityTerm:
    namespaces: frozenset[str]
    selector: LabelSelector
    topology_key: str
    namespace_selector: LabelSelector

    def matches(
        self, namespace: str, labels: Mapping[str, str], ns_labels: Mapping[str, str]
    ) -> bool:
        """Upstream ``AffinityTerm.Matches``: the pod's namespace is listed or its labels
        (``ns_labels``) match the namespace selector, and the pod's labels match."""
        return (
            namespace in self.namespaces or self.namespace_selector.matches(ns_labels)
        ) and self.selector.matches(labels)


def parse_affinity_term(owner_namespace: str, t: Mapping[str, Any]) -> AffinityTerm:
    names = list(t.get("namespaces") or [])
    ns_sel_raw = t.get("namespaceSelector")
    if not names and ns_sel_raw is None:
        names = [owner_namespace]
    return AffinityTerm(
        frozenset(names),
        parse_selector(t.get("labelSelector")),
        t.get("topologyKey") or "",
        parse_selector(ns_sel_raw),
    )


@dataclass
class PodTerms:
    required_affinity: list[AffinityTerm] = field(default_factory=list)
    required_anti_affinity: list[AffinityTerm] = field(default_factory=list)
    preferred_affinity: list[tuple[int, AffinityTerm]] = field(default_factory=list)
    preferred_anti_affinity: list[tuple[int, AffinityTerm]] = field(default_factory=list)
    error: str | None = None  # the first parse error; that category is left empty

    def any(self) -> bool:
        return bool(
            self.required_affinity
            or self.required_anti_affinity
            or self.preferred_affinity
            or self.preferred_anti_affinity
        )


def parse_pod_terms(namespace: str, affinity: Mapping[str, Any] | None) -> PodTerms:
    out = PodTerms()
    aff = (affinity or {}).get("podAffinity") or {}
    anti = (affinity or {}).get("podAntiAffinity") or {}
    req = "requiredDuringSchedulingIgnoredDuringExecution"
    pref = "preferredDuringSchedulingIgnoredDuringExecution"

    def required(src: Mapping[str, Any]) -> list[AffinityTerm]:
        try:
            return [parse_affinity_term(namespace, t) for t in src.get(req) or []]
        except SelectorError as e:
            out.error = out.error or str(e)
            return []

    def preferred(src: Mapping[str, Any]) -> list[tuple[int, AffinityTerm]]:
        try:
            return [
                (int(w.get("weight") or 0), parse_affinity_term(namespace, w["podAffinityTerm"]))
                for w in src.get(pref) or []
            ]
        except SelectorError as e:
            out.error = out.error or str(e)
            return []

    out.required_affinity = required(aff)
    out.required_anti_affinity = required(anti)
    out.preferred_affinity = preferred(aff)
    out.preferred_anti_affinity = preferred(anti)
    return out


@dataclass(frozen=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    selector: LabelSelector
    min_domains: int = 1
    honor_node_affinity: bool = True  # nodeAffinityPolicy Honor (the default)
    honor_node_taints: bool = False  # nodeTaintsPolicy Ignore (the default)


def parse_spread_constraint(
    c: Mapping[str, Any], pod_labels: Mapping[str, str]
) -> SpreadConstraint:
    """Upstream ``filterTopologySpreadConstraints`` for one constraint: the pod's values of
    ``matchLabelKeys`` are ANDed into the selector; defaults minDomains 1, nodeAffinityPolicy
    Honor, nodeTaintsPolicy Ignore."""
    selector = parse_selector(c.get("labelSelector"))
    keys = {k: pod_labels[k] for k in c.get("matchLabelKeys") or [] if k in pod_labels}
    if keys:
        selector = LabelSelector((selector_from_set(keys).reqs or ()) + (selector.reqs or ()))
    min_domains = c.get("minDomains")
    # Upstream: an absent (nil) nodeAffinityPolicy means Honor; a set one honours only when it
    # is exactly "Honor" (so "" or "honor" do not).
    affinity_policy = c.get("nodeAffinityPolicy")
    return SpreadConstraint(
        max_skew=int(c.get("maxSkew") or 0),
        topology_key=c.get("topologyKey") or "",
        selector=selector,
        min_domains=1 if min_domains is None else int(min_domains),
        honor_node_affinity=affinity_policy is None or affinity_policy == "Honor",
        honor_node_taints=c.get("nodeTaintsPolicy") == "Honor",
    )


@dataclass(frozen=True)
class OwnerRef:
    api_version: str
    kind: str
    controller: bool


def parse_owner_refs(meta: Mapping[str, Any]) -> list[OwnerRef]:
    return [
        OwnerRef(r.get("apiVersion") or "", r.get("kind") or "", bool(r.get("controller")))
        for r in meta.get("ownerReferences") or []
    ]
