"""TaintToleration: the first untolerated NoSchedule/NoExecute taint rejects; the score counts
untolerated PreferNoSchedule taints, normalized in reverse."""

from __future__ import annotations

from ..cache import NodeInfo
from ..framework import (
    MAX_NODE_SCORE,
    UNRESOLVABLE,
    CycleState,
    Plugin,
    Status,
    default_normalize_score,
)
from ..model import Pod
from .helper import untolerated_do_not_schedule_taint

NAME = "TaintToleration"


class TaintToleration(Plugin):
    name = NAME
    points = frozenset({"filter", "score"})

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        taint = untolerated_do_not_schedule_taint(pod, node.node)
        if taint is None:
            return None
        return Status(
            UNRESOLVABLE, [f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"]
        )

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        tols = [t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule")]
        return sum(
            1
            for taint in node.node.taints
            if taint.effect == "PreferNoSchedule" and not any(t.tolerates(taint) for t in tols)
        )

    def normalize(self, state: CycleState, pod: Pod, scores: list[int]) -> None:
        default_normalize_score(MAX_NODE_SCORE, True, scores)
