"""ImageLocality: Σ over the pod's images present on the node of
``int(size * numNodes / totalNodes)``, clamped to [23 MiB, 1000 MiB * containers] and mapped
linearly to 0..100."""

from __future__ import annotations

from ..cache import Cache, NodeInfo
from ..framework import MAX_NODE_SCORE, CycleState, Plugin, Status
from ..model import Pod

NAME = "ImageLocality"
MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def calculate_priority(total: int, num_containers: int) -> int:
    top = MAX_CONTAINER_THRESHOLD * num_containers
    if top <= MIN_THRESHOLD:
        return 0
    s = min(max(total, MIN_THRESHOLD), top)
    return MAX_NODE_SCORE * (s - MIN_THRESHOLD) // (top - MIN_THRESHOLD)


class ImageLocality(Plugin):
    name = NAME
    points = frozenset({"preScore", "score"})

    def pre_score(
        self, state: CycleState, pod: Pod, cache: Cache, nodes: list[NodeInfo]
    ) -> Status | None:
        state[NAME] = cache
        return None

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        cache = state[NAME]
        assert isinstance(cache, Cache)
        total_nodes = cache.num_nodes()
        if total_nodes == 0:
            return 0
        have = node.image_names()
        total = 0
        for img in pod.images:
            st = cache.images.get(img)
            if st is not None and img in have:
                total += int(float(st.size) * (len(st.nodes) / total_nodes))
        return calculate_priority(total, len(pod.images))
