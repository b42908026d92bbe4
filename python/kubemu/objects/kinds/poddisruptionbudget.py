"""PodDisruptionBudget (policy/v1)."""

from __future__ import annotations

from typing import Final

from kubemu.objects.errors import FieldError, invalid, not_supported, struct
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import (
    Obj,
    as_map,
    get_int,
    not_more_than_100_percent,
    positive_int_or_percent,
)
from kubemu.objects.labels import validate_label_selector
from kubemu.objects.meta import nonnegative

__all__ = ["POD_DISRUPTION_BUDGET"]

_EVICTION_POLICIES: Final = ("AlwaysAllow", "IfHealthyBudget")


def _validate(pdb: Obj) -> list[FieldError]:
    spec = as_map(pdb.get("spec"))
    errs: list[FieldError] = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        errs.append(
            invalid(
                "spec", struct(dict(spec)), "minAvailable and maxUnavailable cannot be both set"
            )
        )
    for key, value in (("minAvailable", min_available), ("maxUnavailable", max_unavailable)):
        if value is not None:
            errs.extend(positive_int_or_percent(value, f"spec.{key}"))
            errs.extend(not_more_than_100_percent(value, f"spec.{key}"))
    errs.extend(validate_label_selector(spec.get("selector"), "spec.selector"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in _EVICTION_POLICIES:
        errs.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, _EVICTION_POLICIES))
    return errs


def _validate_status(new: Obj, old: Obj) -> list[FieldError]:
    status = as_map(new.get("status"))
    errs: list[FieldError] = []
    for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        errs.extend(nonnegative(get_int(status, key, "status", errs), f"status.{key}"))
    return errs


POD_DISRUPTION_BUDGET: Final = Kind(
    group="policy",
    version="v1",
    kind="PodDisruptionBudget",
    plural="poddisruptionbudgets",
    singular="poddisruptionbudget",
    short_names=("pdb",),
    has_status=True,
    has_generation=True,
    spec_validator=_validate,
    status_validator=_validate_status,
    initial_status=lambda pdb: {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    },
)
