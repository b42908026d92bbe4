"""DaemonSet (apps/v1)."""

from __future__ import annotations

from typing import Any, Final

from kubemu.objects.errors import FieldError, invalid, not_supported, required, struct
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import (
    Obj,
    as_map,
    get_int,
    int_or_percent_value,
    label_selector_or_none,
    not_more_than_100_percent,
    positive_int_or_percent,
    selector_matches_template,
)
from kubemu.objects.kinds.podspec import default_pod_template, validate_pod_template_spec
from kubemu.objects.kinds.workload import selector_immutable
from kubemu.objects.labels import validate_label_selector
from kubemu.objects.meta import nonnegative

__all__ = ["DAEMON_SET"]


def default_daemon_set(ds: Obj) -> None:
    spec = ds.get("spec")
    if not isinstance(spec, dict):
        return
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    default_pod_template(spec.get("template"))


def _validate_update_strategy(strategy: Any, path: str) -> list[FieldError]:
    s = as_map(strategy)
    kind = s.get("type", "")
    if kind == "OnDelete":
        return []
    if kind != "RollingUpdate":
        return [not_supported(path, struct(strategy), ["RollingUpdate", "OnDelete"])]
    rolling = s.get("rollingUpdate")
    if rolling is None:
        return [required(f"{path}.rollingUpdate")]
    r, p = as_map(rolling), f"{path}.rollingUpdate"
    unavailable, surge = r.get("maxUnavailable"), r.get("maxSurge")
    errs = positive_int_or_percent(unavailable, f"{p}.maxUnavailable")
    errs.extend(positive_int_or_percent(surge, f"{p}.maxSurge"))
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        errs.append(
            invalid(f"{p}.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0")
        )
    errs.extend(not_more_than_100_percent(unavailable, f"{p}.maxUnavailable"))
    errs.extend(not_more_than_100_percent(surge, f"{p}.maxSurge"))
    return errs


def _validate(ds: Obj) -> list[FieldError]:
    spec = as_map(ds.get("spec"))
    selector = spec.get("selector")
    errs = validate_label_selector(selector, "spec.selector")
    template = as_map(spec.get("template"))
    parsed = label_selector_or_none(selector)
    if parsed is not None and parsed.nothing:
        errs.append(
            invalid(
                "spec.template.metadata.labels",
                as_map(template.get("metadata")).get("labels") or {},
                "`selector` does not match template `labels`",
            )
        )
    else:
        errs.extend(selector_matches_template(parsed, template, "spec.template"))
    if selector is not None:
        sel = as_map(selector)
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.append(
                invalid(
                    "spec.selector", struct(selector), "empty selector is invalid for daemonset"
                )
            )
    errs.extend(validate_pod_template_spec(spec.get("template"), "spec.template"))
    tspec = as_map(template.get("spec"))
    policy = tspec.get("restartPolicy", "")
    if policy != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(
            invalid(
                "spec.template.spec.activeDeadlineSeconds",
                tspec["activeDeadlineSeconds"],
                "activeDeadlineSeconds must be nil for daemon set pods",
            )
        )
    errs.extend(nonnegative(get_int(spec, "minReadySeconds", "spec", errs), "spec.minReadySeconds"))
    errs.extend(_validate_update_strategy(spec.get("updateStrategy"), "spec.updateStrategy"))
    limit = get_int(spec, "revisionHistoryLimit", "spec", errs)
    errs.extend(nonnegative(limit, "spec.revisionHistoryLimit"))
    return errs


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    return _validate(new) + selector_immutable(new, old)


DAEMON_SET: Final = Kind(
    group="apps",
    version="v1",
    kind="DaemonSet",
    plural="daemonsets",
    singular="daemonset",
    short_names=("ds",),
    has_status=True,
    has_generation=True,
    defaulter=default_daemon_set,
    spec_validator=_validate,
    update_validator=_validate_update,
    initial_status=lambda ds: {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    },
    status_keeps_metadata=("labels",),
)
