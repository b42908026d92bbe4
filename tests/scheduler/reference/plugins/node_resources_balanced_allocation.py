"""NodeResourcesBalancedAllocation: ``int((1 - std) * 100)`` over the fractions
``min(1, requested / allocatable)``; std = |f1 - f2| / 2 for two, population std otherwise.
Skipped for pods requesting none of the resources."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..cache import Cache, NodeInfo
from ..framework import MAX_NODE_SCORE, SKIP, CycleState, Plugin, Status
from ..model import Pod
from .resource_allocation import DEFAULT_RESOURCES, ResourceAllocation

NAME = "NodeResourcesBalancedAllocation"


def balanced_score(amounts: list[tuple[int, int, int]]) -> int:
    fractions: list[float] = []
    total = 0.0
    for r, a, _ in amounts:
        if a == 0:
            continue
        f = min(float(r) / float(a), 1.0)
        total += f
        fractions.append(f)
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2.0)
    elif len(fractions) > 2:
        mean = total / len(fractions)
        acc = 0.0
        for f in fractions:  # sequential sum, as Go and Rust (not math.fsum)
            acc += (f - mean) * (f - mean)
        std = math.sqrt(acc / len(fractions))
    else:
        std = 0.0
    return int((1.0 - std) * MAX_NODE_SCORE)


class BalancedAllocation(Plugin):
    name = NAME
    points = frozenset({"preScore", "score"})

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        res = [(r["name"], int(r.get("weight") or 1)) for r in (args or {}).get("resources") or []]
        self.scorer = ResourceAllocation(res or DEFAULT_RESOURCES, use_requested=True)

    def pre_score(
        self, state: CycleState, pod: Pod, cache: Cache, nodes: list[NodeInfo]
    ) -> Status | None:
        return Status(SKIP) if self.scorer.requests_nothing(pod) else None

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return balanced_score(self.scorer.amounts(pod, node))
