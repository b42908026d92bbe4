"""SchedulingGates: a gated pod stays out of the active queue."""

from __future__ import annotations

from ..framework import UNRESOLVABLE, Plugin, Status
from ..model import Pod

NAME = "SchedulingGates"


class SchedulingGates(Plugin):
    name = NAME
    points = frozenset({"preEnqueue"})

    def pre_enqueue(self, pod: Pod) -> Status | None:
        if not pod.scheduling_gates:
            return None
        return Status(
            UNRESOLVABLE, [f"waiting for scheduling gates: [{' '.join(pod.scheduling_gates)}]"]
        )
