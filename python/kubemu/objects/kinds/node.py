"""Node (core/v1): cluster-scoped; nodes register with their status."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError, duplicate, forbidden, invalid, struct
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_list, as_map, dicts
from kubemu.objects.kinds.containers import parse_resource_list
from kubemu.objects.kinds.podspec import canonicalize_resource_list
from kubemu.objects.kinds.scheduling import validate_taints
from kubemu.objects.meta import IS_NEGATIVE

__all__ = ["NODE"]

_CIDR_MSG: Final = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def default_node(node: Obj) -> None:
    """``SetDefaults_NodeStatus``: allocatable defaults to capacity."""
    status = node.get("status")
    if not isinstance(status, dict):
        return
    canonicalize_resource_list(status.get("capacity"))
    canonicalize_resource_list(status.get("allocatable"))
    if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


def _resources(node: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    status = as_map(node.get("status"))
    for key in ("capacity", "allocatable"):
        for name, q in parse_resource_list(status.get(key), f"status.{key}", errs).items():
            if q.sign() < 0:
                errs.append(invalid(f"status.{key}.{name}", q.canonical(), IS_NEGATIVE))
    return errs


def _cidrs(node: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, cidr in enumerate(as_list(as_map(node.get("spec")).get("podCIDRs"))):
        try:
            ipaddress.ip_network(str(cidr), strict=False)
            if "/" not in str(cidr):
                raise ValueError(cidr)
        except ValueError:
            errs.append(invalid(f"spec.podCIDRs[{i}]", cidr, _CIDR_MSG))
    return errs


def _validate(node: Obj) -> list[FieldError]:
    # Upstream reports taint errors under metadata.taints (its field path quirk).
    errs = validate_taints(as_map(node.get("spec")).get("taints"), "metadata.taints")
    return errs + _resources(node) + _cidrs(node)


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = _resources(new)
    seen: list[Any] = []
    for i, address in dicts(as_map(new.get("status")).get("addresses")):
        if address in seen:
            errs.append(duplicate(f"status.addresses[{i}]", struct(dict(address))))
        seen.append(address)
    spec, old_spec = as_map(new.get("spec")), as_map(old.get("spec"))
    old_cidrs = as_list(old_spec.get("podCIDRs"))
    if old_cidrs and old_cidrs != as_list(spec.get("podCIDRs")):
        errs.append(
            forbidden(
                "spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'
            )
        )
    if old_spec.get("providerID") and old_spec.get("providerID") != spec.get("providerID"):
        errs.append(
            forbidden(
                "spec.providerID", 'node updates may not change providerID except from "" to valid'
            )
        )
    errs.extend(validate_taints(spec.get("taints"), "metadata.taints"))
    return errs


def _fields(node: Mapping[str, Any]) -> dict[str, str]:
    unschedulable = as_map(node.get("spec")).get("unschedulable") is True
    return {"spec.unschedulable": "true" if unschedulable else "false"}


NODE: Final = Kind(
    group="",
    version="v1",
    kind="Node",
    plural="nodes",
    singular="node",
    short_names=("no",),
    namespaced=False,
    has_status=True,
    keep_status_on_create=True,
    defaulter=default_node,
    spec_validator=_validate,
    update_validator=_validate_update,
    status_validator=_validate_update,
    selectable_fields=("spec.unschedulable",),
    field_getter=_fields,
)
