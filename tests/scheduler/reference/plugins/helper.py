"""Upstream ``plugins/helper`` and shared matchers: the broken-linear function of
RequestedToCapacityRatio, the pod's required node affinity (``nodeaffinity.
GetRequiredNodeAffinity(pod).Match``) and its first untolerated NoSchedule/NoExecute taint."""

from __future__ import annotations

from ..framework import go_div
from ..model import Node, Pod, Taint

Shape = list[tuple[int, int]]  # (utilization, score), utilization ascending


def broken_linear(shape: Shape, p: int) -> int:
    for i, (u, s) in enumerate(shape):
        if p <= u:
            if i == 0:
                return s
            pu, ps = shape[i - 1]
            return ps + go_div((s - ps) * (p - pu), u - pu)
    return shape[-1][1] if shape else 0


def pod_matches_node_affinity(pod: Pod, node: Node) -> bool:
    """``nodeSelector`` and the required node affinity terms (ORed) both hold."""
    return (
        not pod.has_required or any(t.matches(node.labels, node.name) for t in pod.required_terms)
    ) and all(node.labels.get(k) == v for k, v in pod.node_selector.items())


def untolerated_do_not_schedule_taint(pod: Pod, node: Node) -> Taint | None:
    """Upstream ``FindMatchingUntoleratedTaint`` with ``DoNotScheduleTaintsFilterFunc``."""
    for taint in node.taints:
        if taint.effect not in ("NoSchedule", "NoExecute"):
            continue
        if not any(t.tolerates(taint) for t in pod.tolerations):
            return taint
    return None
