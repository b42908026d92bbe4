"""PrioritySort: higher ``spec.priority`` first, then the earlier queue timestamp."""

from __future__ import annotations

from ..framework import Plugin
from ..model import Pod

NAME = "PrioritySort"


class PrioritySort(Plugin):
    name = NAME
    points = frozenset({"queueSort"})

    def less(self, a: tuple[Pod, int], b: tuple[Pod, int]) -> bool:
        (pa, ta), (pb, tb) = a, b
        return pa.priority > pb.priority or (pa.priority == pb.priority and ta < tb)
