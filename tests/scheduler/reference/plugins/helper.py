"""Upstream ``plugins/helper``: the broken-linear function of RequestedToCapacityRatio."""

from __future__ import annotations

from ..framework import go_div

Shape = list[tuple[int, int]]  # (utilization, score), utilization ascending


def broken_linear(shape: Shape, p: int) -> int:
    for i, (u, s) in enumerate(shape):
        if p <= u:
            if i == 0:
                return s
            pu, ps = shape[i - 1]
            return ps + go_div((s - ps) * (p - pu), u - pu)
    return shape[-1][1] if shape else 0
