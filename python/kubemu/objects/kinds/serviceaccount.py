"""ServiceAccount (core/v1): metadata only."""

from __future__ import annotations

from typing import Final

from kubemu.objects.kinds.base import Kind

__all__ = ["SERVICE_ACCOUNT"]

SERVICE_ACCOUNT: Final = Kind(
    group="",
    version="v1",
    kind="ServiceAccount",
    plural="serviceaccounts",
    singular="serviceaccount",
    short_names=("sa",),
)
