"""NodePorts: a wanted host port must not conflict with one in use (0.0.0.0 is a wildcard)."""

from __future__ import annotations

from ..cache import Cache, NodeInfo
from ..framework import SKIP, UNSCHEDULABLE, CycleState, Plugin, Status
from ..model import Pod

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts(Plugin):
    name = NAME
    points = frozenset({"preFilter", "filter"})

    def pre_filter(self, state: CycleState, pod: Pod, cache: Cache) -> list[str] | Status | None:
        return Status(SKIP) if not pod.host_ports else None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if any(node.port_conflict(p) for p in pod.host_ports):
            return Status(UNSCHEDULABLE, [ERR_REASON])
        return None
