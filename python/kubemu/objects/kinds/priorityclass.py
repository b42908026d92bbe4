"""PriorityClass (scheduling.k8s.io/v1): cluster-scoped; user values ≤ 1e9."""

from __future__ import annotations

from typing import Final

from kubemu.objects.errors import FieldError, forbidden, not_supported, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, is_int
from kubemu.objects.meta import get_metadata, immutable

__all__ = [
    "HIGHEST_USER_DEFINABLE_PRIORITY",
    "PRIORITY_CLASS",
    "SYSTEM_PRIORITY_CLASSES",
]

HIGHEST_USER_DEFINABLE_PRIORITY: Final = 1_000_000_000
SYSTEM_PRIORITY_CLASSES: Final = {
    "system-cluster-critical": 2_000_000_000,
    "system-node-critical": 2_000_001_000,
}
_PREEMPTION_POLICIES: Final = ("PreemptLowerPriority", "Never")


def default_priority_class(pc: Obj) -> None:
    if pc.get("preemptionPolicy") is None:
        pc["preemptionPolicy"] = "PreemptLowerPriority"


def _validate(pc: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    name = get_metadata(pc).get("name") or ""
    value = pc.get("value", 0)
    if not is_int(value):
        value = 0
    if name.startswith("system-"):
        expected = SYSTEM_PRIORITY_CLASSES.get(name)
        if expected is None:
            problem = f"{name} is not a known system priority class"
        elif value != expected:
            problem = f"value of {name} PriorityClass must be {expected}"
        elif pc.get("globalDefault") is True:
            problem = f"globalDefault of {name} PriorityClass must be false"
        else:
            problem = ""
        if problem:
            errs.append(
                forbidden(
                    "metadata.name",
                    "priority class names with 'system-' prefix are reserved for system use only. "
                    f"error: {problem}",
                )
            )
    elif value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(
            forbidden(
                "value",
                "maximum allowed value of a user defined priority is "
                f"{HIGHEST_USER_DEFINABLE_PRIORITY}",
            )
        )
    policy = pc.get("preemptionPolicy")
    if policy is not None:
        if not policy:
            errs.append(required("preemptionPolicy"))
        elif policy not in _PREEMPTION_POLICIES:
            errs.append(not_supported("preemptionPolicy", policy, _PREEMPTION_POLICIES))
    return errs


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    if new.get("value") != old.get("value"):
        errs.append(forbidden("value", "may not be changed in an update."))
    errs.extend(
        immutable(new.get("preemptionPolicy"), old.get("preemptionPolicy"), "preemptionPolicy")
    )
    return errs


PRIORITY_CLASS: Final = Kind(
    group="scheduling.k8s.io",
    version="v1",
    kind="PriorityClass",
    plural="priorityclasses",
    singular="priorityclass",
    short_names=("pc",),
    namespaced=False,
    defaulter=default_priority_class,
    spec_validator=_validate,
    update_validator=_validate_update,
    kube_finalizers=False,
)
