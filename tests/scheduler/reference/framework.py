"""Statuses, the plugin base class and upstream's ``DefaultNormalizeScore``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cache import Cache, NodeInfo
    from .model import Pod

MAX_NODE_SCORE = 100

UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"
ERROR = "Error"
SKIP = "Skip"


@dataclass
class Status:
    code: str
    reasons: list[str] = field(default_factory=list)

    def message(self) -> str:
        return ", ".join(self.reasons)

    def rejected(self) -> bool:
        return self.code in (UNSCHEDULABLE, UNRESOLVABLE)


def go_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


CycleState = dict[str, object]


class Plugin:
    """A plugin implements the points it overrides; ``None`` from ``pre_filter`` means all
    nodes, a list restricts them; a Status rejects or skips."""

    name = ""
    points: frozenset[str] = frozenset()

    def pre_enqueue(self, pod: Pod) -> Status | None:
        raise NotImplementedError

    def pre_filter(self, state: CycleState, pod: Pod, cache: Cache) -> list[str] | Status | None:
        raise NotImplementedError

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        raise NotImplementedError

    def pre_score(
        self, state: CycleState, pod: Pod, cache: Cache, nodes: list[NodeInfo]
    ) -> Status | None:
        raise NotImplementedError

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        raise NotImplementedError

    def normalize(self, state: CycleState, pod: Pod, scores: list[int]) -> None:
        """Default: unchanged."""


def default_normalize_score(max_priority: int, reverse: bool, scores: list[int]) -> None:
    """``s * max_priority / max`` (reversed: ``max_priority - that``); when the highest score
    is 0: all ``max_priority`` if reversed, else unchanged."""
    top = max(max(scores, default=0), 0)
    if top == 0:
        if reverse:
            scores[:] = [max_priority] * len(scores)
        return
    for i, s in enumerate(scores):
        v = go_div(max_priority * s, top)
        scores[i] = max_priority - v if reverse else v
