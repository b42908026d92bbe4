"""NodeUnschedulable: ``spec.unschedulable`` nodes unless the pod tolerates
``node.kubernetes.io/unschedulable:NoSchedule``."""

from __future__ import annotations

from ..cache import NodeInfo
from ..framework import UNRESOLVABLE, CycleState, Plugin, Status
from ..model import Pod, Taint

NAME = "NodeUnschedulable"
ERR_REASON = "node(s) were unschedulable"
_TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")


class NodeUnschedulable(Plugin):
    name = NAME
    points = frozenset({"filter"})

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if not node.node.unschedulable or any(t.tolerates(_TAINT) for t in pod.tolerations):
            return None
        return Status(UNRESOLVABLE, [ERR_REASON])
