"""NodeResourcesFit: ``fitsRequest`` and the LeastAllocated / MostAllocated /
RequestedToCapacityRatio scoring strategies (integer arithmetic as upstream)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..cache import Cache, NodeInfo
from ..framework import MAX_NODE_SCORE, UNSCHEDULABLE, CycleState, Plugin, Status
from ..model import Pod
from .helper import Shape, broken_linear
from .resource_allocation import DEFAULT_RESOURCES, ResourceAllocation

NAME = "NodeResourcesFit"
MAX_UTILIZATION = 100


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


class NodeResourcesFit(Plugin):
    name = NAME
    points = frozenset({"preFilter", "filter", "score"})

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        args = args or {}
        self.ignored = list(args.get("ignoredResources") or [])
        self.ignored_groups = list(args.get("ignoredResourceGroups") or [])
        ss = args.get("scoringStrategy") or {}
        self.strategy = ss.get("type") or "LeastAllocated"
        resources = [(r["name"], int(r.get("weight") or 1)) for r in ss.get("resources") or []]
        self.scorer = ResourceAllocation(resources or DEFAULT_RESOURCES, use_requested=False)
        shape = ((ss.get("requestedToCapacityRatio") or {}).get("shape")) or [
            {"utilization": 0, "score": 10},
            {"utilization": 100, "score": 0},
        ]
        self.shape: Shape = [(int(p["utilization"]), int(p["score"]) * 10) for p in shape]

    def _ignored(self, name: str) -> bool:
        if "/" not in name or "kubernetes.io/" in name:
            return False
        return name in self.ignored or name.split("/")[0] in self.ignored_groups

    def pre_filter(self, state: CycleState, pod: Pod, cache: Cache) -> list[str] | Status | None:
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        alloc, used, req = node.node.allocatable, node.requested, pod.requests
        reasons = []
        if len(node.pods) + 1 > alloc.allowed_pod_number:
            reasons.append("Too many pods")
        if not req.is_empty_request():
            if req.milli_cpu > 0 and req.milli_cpu > alloc.milli_cpu - used.milli_cpu:
                reasons.append("Insufficient cpu")
            if req.memory > 0 and req.memory > alloc.memory - used.memory:
                reasons.append("Insufficient memory")
            if (
                req.ephemeral_storage > 0
                and req.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage
            ):
                reasons.append("Insufficient ephemeral-storage")
            for name, q in req.scalar.items():
                if q == 0 or self._ignored(name):
                    continue
                if q > alloc.scalar.get(name, 0) - used.scalar.get(name, 0):
                    reasons.append(f"Insufficient {name}")
        return Status(UNSCHEDULABLE, reasons) if reasons else None

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        total = weight_sum = 0
        for r, a, w in self.scorer.amounts(pod, node):
            if a == 0:
                continue
            if self.strategy == "LeastAllocated":
                s = least_requested_score(r, a)
            elif self.strategy == "MostAllocated":
                s = most_requested_score(r, a)
            else:
                u = MAX_UTILIZATION if r > a else r * MAX_UTILIZATION // a
                s = broken_linear(self.shape, u)
                if s <= 0:
                    continue
            total += s * w
            weight_sum += w
        if weight_sum == 0:
            return 0
        if self.strategy == "RequestedToCapacityRatio":
            return math.floor(total / weight_sum + 0.5)  # Go math.Round (half away from zero)
        return total // weight_sum
