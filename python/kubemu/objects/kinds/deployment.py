"""Deployment (apps/v1)."""

from __future__ import annotations

from typing import Any, Final

from kubemu.objects.errors import FieldError, forbidden, invalid, not_supported, required, struct
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import (
    Obj,
    as_map,
    get_int,
    int_or_percent_value,
    not_more_than_100_percent,
    positive_int_or_percent,
)
from kubemu.objects.kinds.podspec import default_pod_template
from kubemu.objects.kinds.workload import selector_immutable, validate_selector_and_template
from kubemu.objects.meta import get_metadata, nonnegative

__all__ = ["DEPLOYMENT", "validate_rolling_update"]


def default_deployment(d: Obj) -> None:
    spec = d.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = "25%"
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    default_pod_template(spec.get("template"))


def validate_rolling_update(rolling: Any, path: str) -> list[FieldError]:
    """``ValidateRollingUpdateDeployment``: maxUnavailable / maxSurge, not both 0."""
    r = as_map(rolling)
    unavailable, surge = r.get("maxUnavailable"), r.get("maxSurge")
    errs = positive_int_or_percent(unavailable, f"{path}.maxUnavailable")
    errs.extend(positive_int_or_percent(surge, f"{path}.maxSurge"))
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        errs.append(
            invalid(f"{path}.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0")
        )
    errs.extend(not_more_than_100_percent(unavailable, f"{path}.maxUnavailable"))
    return errs


def _validate_strategy(strategy: Any, path: str) -> list[FieldError]:
    s = as_map(strategy)
    kind = s.get("type", "")
    if kind == "Recreate":
        if s.get("rollingUpdate") is not None:
            return [
                forbidden(
                    f"{path}.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind == "RollingUpdate":
        if s.get("rollingUpdate") is None:
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        return validate_rolling_update(s["rollingUpdate"], f"{path}.rollingUpdate")
    return [not_supported(path, struct(strategy), ["Recreate", "RollingUpdate"])]


def _validate(d: Obj) -> list[FieldError]:
    spec = as_map(d.get("spec"))
    errs: list[FieldError] = []
    errs.extend(nonnegative(get_int(spec, "replicas", "spec", errs), "spec.replicas"))
    errs.extend(validate_selector_and_template(spec, "spec", "ReplicaSet", "deployment"))
    errs.extend(_validate_strategy(spec.get("strategy"), "spec.strategy"))
    min_ready = get_int(spec, "minReadySeconds", "spec", errs) or 0
    errs.extend(nonnegative(min_ready, "spec.minReadySeconds"))
    limit = get_int(spec, "revisionHistoryLimit", "spec", errs)
    errs.extend(nonnegative(limit, "spec.revisionHistoryLimit"))
    deadline = get_int(spec, "progressDeadlineSeconds", "spec", errs)
    if deadline is not None:
        errs.extend(nonnegative(deadline, "spec.progressDeadlineSeconds"))
        if deadline <= min_ready:
            errs.append(
                invalid(
                    "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
                )
            )
    return errs


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    return _validate(new) + selector_immutable(new, old)


def _bumps_generation(new: Obj, old: Obj) -> bool:
    """Spec changes, and annotation changes (they are copied to the ReplicaSets)."""
    return new.get("spec") != old.get("spec") or get_metadata(new).get(
        "annotations"
    ) != get_metadata(old).get("annotations")


DEPLOYMENT: Final = Kind(
    group="apps",
    version="v1",
    kind="Deployment",
    plural="deployments",
    singular="deployment",
    short_names=("deploy",),
    has_status=True,
    has_generation=True,
    defaulter=default_deployment,
    spec_validator=_validate,
    update_validator=_validate_update,
    status_keeps_metadata=("labels",),
    bumps_generation=_bumps_generation,
)
