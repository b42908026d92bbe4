"""Upstream ``noderesources/resource_allocation.go``: per configured resource, the node's
allocatable and its requested amount with this pod placed."""

from __future__ import annotations

from ..cache import NodeInfo
from ..model import Pod
from ..resources import is_scalar_resource_name

DEFAULT_RESOURCES: list[tuple[str, int]] = [("cpu", 1), ("memory", 1)]


class ResourceAllocation:
    def __init__(self, resources: list[tuple[str, int]], use_requested: bool) -> None:
        for name, w in resources:
            if not 1 <= w <= 100:
                raise ValueError(f"resource weight of {name} should be in the range [1, 100]")
        self.resources = resources
        self.use_requested = use_requested

    def pod_request(self, pod: Pod, name: str) -> int:
        """Non-zero cpu/memory unless ``use_requested`` (BalancedAllocation)."""
        if name == "cpu":
            return pod.requests.milli_cpu if self.use_requested else pod.non_zero_cpu
        if name == "memory":
            return pod.requests.memory if self.use_requested else pod.non_zero_memory
        if name == "ephemeral-storage":
            return pod.requests.ephemeral_storage
        if is_scalar_resource_name(name):
            return pod.requests.scalar.get(name, 0)
        return 0

    def requests_nothing(self, pod: Pod) -> bool:
        return all(self.pod_request(pod, n) == 0 for n, _ in self.resources)

    def amounts(self, pod: Pod, node: NodeInfo) -> list[tuple[int, int, int]]:
        """(requested, allocatable, weight) per resource; (0, 0) where the node lacks it."""
        alloc = node.node.allocatable
        out = []
        for name, w in self.resources:
            p = self.pod_request(pod, name)
            if name == "cpu":
                a = alloc.milli_cpu
                r = (node.requested.milli_cpu if self.use_requested else node.non_zero_cpu) + p
            elif name == "memory":
                a = alloc.memory
                r = (node.requested.memory if self.use_requested else node.non_zero_memory) + p
            elif name == "ephemeral-storage":
                a, r = alloc.ephemeral_storage, node.requested.ephemeral_storage + p
            elif is_scalar_resource_name(name) and p != 0 and name in alloc.scalar:
                a, r = alloc.scalar[name], node.requested.scalar.get(name, 0) + p
            else:
                a, r = 0, 0
            out.append((0, 0, w) if a == 0 else (r, a, w))
        return out
