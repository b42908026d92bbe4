"""NodeName: a pod with ``spec.nodeName`` fits only that node."""

from __future__ import annotations

from ..cache import Cache, NodeInfo
from ..framework import SKIP, UNRESOLVABLE, CycleState, Plugin, Status
from ..model import Pod

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    name = NAME
    points = frozenset({"preFilter", "filter"})

    def pre_filter(self, state: CycleState, pod: Pod, cache: Cache) -> list[str] | Status | None:
        return Status(SKIP) if not pod.node_name else None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if not pod.node_name or pod.node_name == node.name:
            return None
        return Status(UNRESOLVABLE, [ERR_REASON])
