"""ReplicationController (core/v1): a map selector, defaulted from the template labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError, forbidden, not_supported, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_map, get_int, selector_matches_template, str_map
from kubemu.objects.kinds.podspec import default_pod_template, validate_pod_template_spec
from kubemu.objects.kinds.workload import replica_status_errors
from kubemu.objects.labels import Requirement, Selector
from kubemu.objects.meta import nonnegative

__all__ = ["REPLICATION_CONTROLLER"]


def default_replication_controller(rc: Obj) -> None:
    spec = rc.get("spec")
    if not isinstance(spec, dict):
        return
    template = spec.get("template")
    labels = as_map(template.get("metadata")).get("labels") if isinstance(template, dict) else None
    if isinstance(labels, dict):
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = rc.setdefault("metadata", {})
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_pod_template(template)


def _validate(rc: Obj) -> list[FieldError]:
    spec = as_map(rc.get("spec"))
    errs: list[FieldError] = []
    errs.extend(nonnegative(get_int(spec, "minReadySeconds", "spec", errs), "spec.minReadySeconds"))
    selector_map = str_map(spec.get("selector"))
    if not selector_map:
        errs.append(required("spec.selector"))
    errs.extend(nonnegative(get_int(spec, "replicas", "spec", errs), "spec.replicas"))
    template = spec.get("template")
    if not isinstance(template, dict):
        errs.append(required("spec.template"))
        return errs
    selector = Selector(tuple(Requirement(k, "=", (v,)) for k, v in sorted(selector_map.items())))
    errs.extend(selector_matches_template(selector, template, "spec.template"))
    errs.extend(validate_pod_template_spec(template, "spec.template"))
    tspec = as_map(template.get("spec"))
    policy = tspec.get("restartPolicy", "")
    if policy != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicationController is not Supported",
            )
        )
    return errs


def _fields(rc: Mapping[str, Any]) -> dict[str, str]:
    return {"status.replicas": str(as_map(rc.get("status")).get("replicas") or 0)}


REPLICATION_CONTROLLER: Final = Kind(
    group="",
    version="v1",
    kind="ReplicationController",
    plural="replicationcontrollers",
    singular="replicationcontroller",
    short_names=("rc",),
    has_status=True,
    has_generation=True,
    defaulter=default_replication_controller,
    spec_validator=_validate,
    status_validator=lambda new, old: replica_status_errors(new),
    initial_status=lambda rc: {"replicas": 0},
    selectable_fields=("status.replicas",),
    field_getter=_fields,
)
