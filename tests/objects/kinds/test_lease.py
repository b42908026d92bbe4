"""Lease (coordination.k8s.io/v1)."""

from __future__ import annotations

from kubemu.objects.kinds import LEASE
from kubemu.objects.meta import now_rfc3339_micro

from .factories import Obj, create, create_valid, messages, update


def lease(**spec: object) -> Obj:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40, **spec},
    }


def test_lease_lifecycle() -> None:
    stored = create_valid(LEASE, lease(renewTime=now_rfc3339_micro(0)))
    assert stored["spec"]["renewTime"] == "1970-01-01T00:00:00.000000Z"
    assert (
        LEASE.key("kube-node-lease", "node-1")
        == b"/registry/coordination.k8s.io/leases/kube-node-lease/node-1"
    )
    renewed, errs = update(
        LEASE, stored, lambda o: o["spec"].update(renewTime=now_rfc3339_micro(10))
    )
    assert errs == [] and "generation" not in renewed["metadata"]


def test_validation() -> None:
    assert messages(
        LEASE.validate_create(create(LEASE, lease(leaseDurationSeconds=0, leaseTransitions=-1)))
    ) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
        "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
    ]
