"""The default profile: upstream's multi-point plugins this project implements, in order,
with upstream's score weights; NodeResourcesFit, PodTopologySpread, InterPodAffinity and
BalancedAllocation args may be given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .framework import Plugin
from .plugins.image_locality import ImageLocality
from .plugins.inter_pod_affinity import InterPodAffinity
from .plugins.node_affinity import NodeAffinity
from .plugins.node_name import NodeName
from .plugins.node_ports import NodePorts
from .plugins.node_resources_balanced_allocation import BalancedAllocation
from .plugins.node_resources_fit import NodeResourcesFit
from .plugins.node_unschedulable import NodeUnschedulable
from .plugins.pod_topology_spread import PodTopologySpread
from .plugins.priority_sort import PrioritySort
from .plugins.scheduling_gates import SchedulingGates
from .plugins.taint_toleration import TaintToleration


class Profile:
    def __init__(
        self,
        plugin_args: Mapping[str, Mapping[str, Any]] | None = None,
        percentage_of_nodes_to_score: int | None = None,
    ) -> None:
        args = plugin_args or {}
        entries: list[tuple[Plugin, int]] = [
            (SchedulingGates(), 1),
            (PrioritySort(), 1),
            (NodeUnschedulable(), 1),
            (NodeName(), 1),
            (TaintToleration(), 3),
            (NodeAffinity(), 2),
            (NodePorts(), 1),
            (NodeResourcesFit(args.get("NodeResourcesFit")), 1),
            (PodTopologySpread(args.get("PodTopologySpread")), 2),
            (InterPodAffinity(args.get("InterPodAffinity")), 2),
            (BalancedAllocation(args.get("NodeResourcesBalancedAllocation")), 1),
            (ImageLocality(), 1),
        ]
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.weights = {p.name: w for p, w in entries}

        def at(point: str) -> list[Plugin]:
            return [p for p, _ in entries if point in p.points]

        self.pre_enqueue = at("preEnqueue")
        self.pre_filter = at("preFilter")
        self.filter = at("filter")
        self.pre_score = at("preScore")
        self.score = at("score")
