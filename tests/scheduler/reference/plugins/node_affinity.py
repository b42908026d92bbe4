"""NodeAffinity: nodeSelector AND required terms (ORed); preferred terms' weights summed and
normalized as ``score * 100 / max``."""

from __future__ import annotations

from ..cache import Cache, NodeInfo
from ..framework import (
    ERROR,
    MAX_NODE_SCORE,
    SKIP,
    UNRESOLVABLE,
    CycleState,
    Plugin,
    Status,
    default_normalize_score,
)
from ..model import Pod
from .helper import pod_matches_node_affinity

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_CONFLICT = "pod affinity terms conflict"


class NodeAffinity(Plugin):
    name = NAME
    points = frozenset({"preFilter", "filter", "preScore", "score"})

    def pre_filter(self, state: CycleState, pod: Pod, cache: Cache) -> list[str] | Status | None:
        if not pod.has_required and not pod.node_selector:
            return Status(SKIP)
        names = pod.affinity_node_names
        if names is not None and not names:
            return Status(UNRESOLVABLE, [ERR_REASON_CONFLICT])
        return names

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        ok = pod_matches_node_affinity(pod, node.node)
        return None if ok else Status(UNRESOLVABLE, [ERR_REASON_POD])

    def pre_score(
        self, state: CycleState, pod: Pod, cache: Cache, nodes: list[NodeInfo]
    ) -> Status | None:
        if isinstance(pod.preferred, str):
            return Status(ERROR, [pod.preferred])
        return None if pod.preferred else Status(SKIP)

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        assert not isinstance(pod.preferred, str)
        n = node.node
        return sum(w for w, t in pod.preferred if t.matches(n.labels, n.name))

    def normalize(self, state: CycleState, pod: Pod, scores: list[int]) -> None:
        default_normalize_score(MAX_NODE_SCORE, False, scores)
