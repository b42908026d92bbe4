"""Lease (coordination.k8s.io/v1): node heartbeats and leader election."""

from __future__ import annotations

from typing import Final

from kubemu.objects.errors import FieldError, invalid
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_map, is_int

__all__ = ["LEASE", "NODE_LEASE_NAMESPACE"]

NODE_LEASE_NAMESPACE: Final = "kube-node-lease"


def _validate(lease: Obj) -> list[FieldError]:
    spec = as_map(lease.get("spec"))
    errs: list[FieldError] = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and (not is_int(duration) or duration <= 0):
        errs.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and (not is_int(transitions) or transitions < 0):
        errs.append(
            invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
        )
    return errs


LEASE: Final = Kind(
    group="coordination.k8s.io",
    version="v1",
    kind="Lease",
    plural="leases",
    singular="lease",
    spec_validator=_validate,
)
