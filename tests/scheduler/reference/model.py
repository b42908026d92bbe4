"""Nodes and pods as the scheduler sees them, from Kubernetes object dicts.

Selector parsing follows upstream's ``nodeaffinity`` helpers: an invalid required term is
dropped (it matches nothing), an invalid preferred term fails scoring with its message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .pod_terms import OwnerRef, PodTerms, parse_owner_refs, parse_pod_terms
from .resources import Resource, is_sidecar, parse_list, requests_of

DEFAULT_SCHEDULER_NAME = "default-scheduler"
BIND_ALL_HOST_IP = "0.0.0.0"
_INT = re.compile(r"[+-]?[0-9]+")


def parse_int64(s: str) -> int | None:
    """Go's ``strconv.ParseInt(s, 10, 64)``."""
    if not _INT.fullmatch(s):
        return None
    v = int(s)
    return v if -(1 << 63) <= v < (1 << 63) else None


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True)
class Toleration:
    key: str
    operator: str  # as given; "" means Equal
    value: str
    effect: str  # "" matches every effect

    def tolerates(self, t: Taint) -> bool:
        """Upstream ``Toleration.ToleratesTaint``."""
        if self.effect and self.effect != t.effect:
            return False
        if self.key and self.key != t.key:
            return False
        if self.operator in ("", "Equal"):
            return self.value == t.value
        return self.operator == "Exists"


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str
    values: tuple[str, ...] = ()
    bound: int = 0

    def matches(self, value: str | None) -> bool:
        if self.op == "In":
            return value is not None and value in self.values
        if self.op == "NotIn":
            return value is None or value not in self.values
        if self.op == "Exists":
            return value is not None
        if self.op == "DoesNotExist":
            return value is None
        v = parse_int64(value) if value is not None else None
        if v is None:
            return False
        return v > self.bound if self.op == "Gt" else v < self.bound


class SelectorError(ValueError):
    pass


def parse_requirement(r: Mapping[str, Any]) -> Requirement:
    key = r.get("key") or ""
    op = r.get("operator") or ""
    values = list(r.get("values") or [])
    if op in ("In", "NotIn"):
        if not values:
            raise SelectorError(f"for 'in', 'notin' operators, values set can't be empty: {key}")
        return Requirement(key, op, tuple(values))
    if op in ("Exists", "DoesNotExist"):
        if values:
            raise SelectorError(f"values set must be empty for exists and does not exist: {key}")
        return Requirement(key, op)
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            raise SelectorError(f"for 'Gt', 'Lt' operators, exactly one value is required: {key}")
        b = parse_int64(values[0])
        if b is None:
            raise SelectorError(
                f"for 'Gt', 'Lt' operators, the value must be an integer: {values[0]}"
            )
        return Requirement(key, op, bound=b)
    raise SelectorError(f'"{op}" is not a valid label selector operator')


@dataclass(frozen=True)
class Term:
    expressions: tuple[Requirement, ...]
    fields: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str], node_name: str) -> bool:
        return all(r.matches(labels.get(r.key)) for r in self.expressions) and all(
            r.matches(node_name) for r in self.fields
        )


def parse_term(t: Mapping[str, Any]) -> Term | None:
    """None for an empty term (it selects nothing); SelectorError if invalid."""
    exprs = t.get("matchExpressions") or []
    fields = t.get("matchFields") or []
    if not exprs and not fields:
        return None
    e = tuple(parse_requirement(r) for r in exprs)
    f = []
    for r in fields:
        if r.get("key") != "metadata.name":
            raise SelectorError(f'"{r.get("key") or ""}" is not a valid field selector key')
        if len(r.get("values") or []) != 1:
            raise SelectorError("must have one element")
        if r.get("operator") not in ("In", "NotIn"):
            raise SelectorError(
                f'"{r.get("operator") or ""}" is not a valid field selector operator'
            )
        f.append(parse_requirement(r))
    return Term(e, tuple(f))


def prefilter_node_names(terms: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """NodeAffinity PreFilter: the union over terms of each term's ``metadata.name In``
    intersection; None when some term has none. Sorted (kubemu's documented order)."""
    if not terms:
        return None
    union: set[str] = set()
    for t in terms:
        names: set[str] | None = None
        for r in t.get("matchFields") or []:
            if r.get("key") == "metadata.name" and r.get("operator") == "In":
                s = set(r.get("values") or [])
                names = s if names is None else names & s
        if names is None:
            return None
        union |= names
    return sorted(union)


def normalized_image_name(name: str) -> str:
    """``:latest`` appended when there is no tag after the last ``/``."""
    if name.rfind(":") <= name.rfind("/"):
        return name + ":latest"
    return name


@dataclass
class Node:
    name: str
    labels: dict[str, str]
    unschedulable: bool
    taints: list[Taint]
    allocatable: Resource
    images: list[tuple[list[str], int]]

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Node:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        alloc = Resource()
        alloc.add_list(parse_list(status.get("allocatable")))
        return cls(
            name=meta["name"],
            labels=dict(meta.get("labels") or {}),
            unschedulable=bool(spec.get("unschedulable")),
            taints=[
                Taint(t.get("key") or "", t.get("value") or "", t.get("effect") or "")
                for t in spec.get("taints") or []
            ],
            allocatable=alloc,
            images=[
                (list(i.get("names") or []), int(i.get("sizeBytes") or 0))
                for i in status.get("images") or []
            ],
        )

    def zone_key(self) -> str:
        lb = self.labels
        # Upstream GetZoneKey: the beta label only when the GA one is absent.
        zone = lb.get("topology.kubernetes.io/zone")
        if zone is None:
            zone = lb.get("failure-domain.beta.kubernetes.io/zone", "")
        region = lb.get("topology.kubernetes.io/region")
        if region is None:
            region = lb.get("failure-domain.beta.kubernetes.io/region", "")
        return "" if not region and not zone else f"{region}:\0:{zone}"


@dataclass(frozen=True)
class HostPort:
    ip: str
    protocol: str
    port: int


@dataclass
class Pod:
    uid: str
    name: str
    namespace: str
    node_name: str
    priority: int
    scheduling_gates: list[str]
    node_selector: dict[str, str]
    has_required: bool
    required_terms: list[Term]
    affinity_node_names: list[str] | None
    preferred: list[tuple[int, Term]] | str  # str: the parse error
    tolerations: list[Toleration]
    host_ports: list[HostPort]
    requests: Resource
    non_zero_cpu: int
    non_zero_memory: int
    images: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    terminating: bool = False  # metadata.deletionTimestamp is set
    owner_refs: list[OwnerRef] = field(default_factory=list)
    spread_constraints: list[dict[str, Any]] = field(default_factory=list)  # as given
    terms: PodTerms = field(default_factory=PodTerms)

    def key(self) -> str:
        return self.uid or f"{self.namespace}/{self.name}"

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Pod:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        na = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        required = na.get("requiredDuringSchedulingIgnoredDuringExecution")
        raw_terms = (required or {}).get("nodeSelectorTerms") or []
        req_terms: list[Term] = []
        for t in raw_terms:
            try:
                term = parse_term(t)
            except SelectorError:
                continue
            if term is not None:
                req_terms.append(term)
        terms: list[tuple[int, Term]] = []
        preferred: list[tuple[int, Term]] | str = terms
        for p in na.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
            w = int(p.get("weight") or 0)
            if w == 0:
                continue
            try:
                term = parse_term(p.get("preference") or {})
            except SelectorError as e:
                preferred = str(e)
                break
            if term is not None:
                terms.append((w, term))
        ports: list[HostPort] = []
        images: list[str] = []

        def push_ports(c: Mapping[str, Any]) -> None:
            for p in c.get("ports") or []:
                hp = int(p.get("hostPort") or 0)
                if hp > 0:
                    ports.append(
                        HostPort(
                            p.get("hostIP") or BIND_ALL_HOST_IP, p.get("protocol") or "TCP", hp
                        )
                    )

        for c in spec.get("initContainers") or []:
            if is_sidecar(c):
                push_ports(c)
            images.append(normalized_image_name(c.get("image") or ""))
        for c in spec.get("containers") or []:
            push_ports(c)
            images.append(normalized_image_name(c.get("image") or ""))
        req, nz_cpu, nz_mem = requests_of(spec)
        return cls(
            uid=meta.get("uid") or "",
            name=meta.get("name") or "",
            namespace=meta.get("namespace") or "",
            node_name=spec.get("nodeName") or "",
            priority=int(spec.get("priority") or 0),
            scheduling_gates=[g.get("name") or "" for g in spec.get("schedulingGates") or []],
            node_selector=dict(spec.get("nodeSelector") or {}),
            has_required=required is not None,
            required_terms=req_terms,
            affinity_node_names=prefilter_node_names(raw_terms) if required is not None else None,
            preferred=preferred,
            tolerations=[
                Toleration(
                    t.get("key") or "",
                    t.get("operator") or "",
                    t.get("value") or "",
                    t.get("effect") or "",
                )
                for t in spec.get("tolerations") or []
            ],
            host_ports=ports,
            requests=req,
            non_zero_cpu=nz_cpu,
            non_zero_memory=nz_mem,
            images=images,
            labels=dict(meta.get("labels") or {}),
            terminating=meta.get("deletionTimestamp") is not None,
            owner_refs=parse_owner_refs(meta),
            spread_constraints=list(spec.get("topologySpreadConstraints") or []),
            terms=parse_pod_terms(meta.get("namespace") or "", spec.get("affinity")),
        )
