"""Node: registration with status, taints, resources, update rules, fields."""

from __future__ import annotations

from kubemu.objects.kinds import NODE

from .factories import Obj, create, create_valid, messages, status_update, update


def node(**spec: object) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": dict(spec),
        "status": {"capacity": {"cpu": 4, "memory": "16Gi", "pods": "110"}},
    }


def test_registration_keeps_status_and_defaults_allocatable() -> None:
    created = create_valid(NODE, node())
    assert created["status"]["capacity"] == {"cpu": "4", "memory": "16Gi", "pods": "110"}
    assert created["status"]["allocatable"] == created["status"]["capacity"]
    assert "generation" not in created["metadata"]
    assert NODE.fields(created) == {"metadata.name": "node-1", "spec.unschedulable": "false"}


def test_taints_and_resources() -> None:
    obj = node(
        taints=[
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
            {"key": "dedicated", "value": "other", "effect": "NoSchedule"},
            {"key": "x", "effect": ""},
        ],
        podCIDRs=["10.0.0.0/24", "nonsense"],
    )
    obj["status"]["capacity"]["memory"] = "-1"
    errs = messages(NODE.validate_create(create(NODE, obj)))
    assert errs == [
        'metadata.taints[1]: Duplicate value: {"effect":"NoSchedule","key":"dedicated",'
        '"value":"other"}: taints must be unique by key and effect pair',
        "metadata.taints[2].effect: Required value",
        'status.capacity.memory: Invalid value: "-1": must be greater than or equal to 0',
        'status.allocatable.memory: Invalid value: "-1": must be greater than or equal to 0',
        'spec.podCIDRs[1]: Invalid value: "nonsense": must be a valid CIDR value, (e.g. '
        "10.9.8.0/24 or 2001:db8::/64)",
    ]


def test_updates() -> None:
    stored = create_valid(NODE, node(podCIDRs=["10.0.0.0/24"], providerID="kubemu://node-1"))
    cordoned, errs = update(NODE, stored, lambda o: o["spec"].update(unschedulable=True))
    assert errs == [] and NODE.fields(cordoned)["spec.unschedulable"] == "true"
    _, errs = update(
        NODE, stored, lambda o: o["spec"].update(podCIDRs=["10.0.1.0/24"], providerID="x")
    )
    assert errs == [
        'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
        "spec.providerID: Forbidden: node updates may not change providerID except from "
        '"" to valid',
    ]
    heartbeat, errs = status_update(
        NODE, stored, lambda o: o["status"].update(conditions=[{"type": "Ready", "status": "True"}])
    )
    assert errs == [] and heartbeat["status"]["conditions"][0]["type"] == "Ready"
    assert heartbeat["spec"] == stored["spec"]
