"""ReplicaSet (apps/v1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_map, get_int
from kubemu.objects.kinds.podspec import default_pod_template
from kubemu.objects.kinds.workload import (
    replica_status_errors,
    selector_immutable,
    validate_selector_and_template,
)
from kubemu.objects.meta import nonnegative

__all__ = ["REPLICA_SET"]


def default_replica_set(rs: Obj) -> None:
    spec = rs.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_pod_template(spec.get("template"))


def _validate(rs: Obj) -> list[FieldError]:
    spec = as_map(rs.get("spec"))
    errs: list[FieldError] = []
    errs.extend(nonnegative(get_int(spec, "replicas", "spec", errs), "spec.replicas"))
    errs.extend(nonnegative(get_int(spec, "minReadySeconds", "spec", errs), "spec.minReadySeconds"))
    errs.extend(validate_selector_and_template(spec, "spec", "ReplicaSet", "deployment"))
    return errs


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    return _validate(new) + selector_immutable(new, old)


def _fields(rs: Mapping[str, Any]) -> dict[str, str]:
    return {"status.replicas": str(as_map(rs.get("status")).get("replicas") or 0)}


REPLICA_SET: Final = Kind(
    group="apps",
    version="v1",
    kind="ReplicaSet",
    plural="replicasets",
    singular="replicaset",
    short_names=("rs",),
    has_status=True,
    has_generation=True,
    defaulter=default_replica_set,
    spec_validator=_validate,
    update_validator=_validate_update,
    status_validator=lambda new, old: replica_status_errors(new),
    initial_status=lambda rs: {"replicas": 0},
    status_keeps_metadata=("labels",),
    selectable_fields=("status.replicas",),
    field_getter=_fields,
)
