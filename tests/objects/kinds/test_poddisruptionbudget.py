"""PodDisruptionBudget (policy/v1)."""

from __future__ import annotations

from kubemu.objects.kinds import POD_DISRUPTION_BUDGET

from .factories import Obj, create, create_valid, messages, status_update, update


def pdb(**spec: object) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "d"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec},
    }


def test_create() -> None:
    created = create_valid(POD_DISRUPTION_BUDGET, pdb(minAvailable="50%"))
    assert created["status"] == {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    }
    assert created["metadata"]["generation"] == 1


def test_validation() -> None:
    both = create(POD_DISRUPTION_BUDGET, pdb(minAvailable=1, maxUnavailable="150%"))
    assert messages(POD_DISRUPTION_BUDGET.validate_create(both)) == [
        'spec: Invalid value: {"maxUnavailable":"150%","minAvailable":1,"selector":{"matchLabels":'
        '{"app":"web"}}}: minAvailable and maxUnavailable cannot be both set',
        'spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
    ]
    policy = create(POD_DISRUPTION_BUDGET, pdb(unhealthyPodEvictionPolicy="Never"))
    assert messages(POD_DISRUPTION_BUDGET.validate_create(policy)) == [
        'spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: '
        '"AlwaysAllow", "IfHealthyBudget"'
    ]


def test_spec_updates_bump_generation_and_status_is_checked() -> None:
    stored = create_valid(POD_DISRUPTION_BUDGET, pdb(minAvailable=1))
    new, errs = update(POD_DISRUPTION_BUDGET, stored, lambda o: o["spec"].update(minAvailable=2))
    assert errs == [] and new["metadata"]["generation"] == 2
    _, errs = status_update(
        POD_DISRUPTION_BUDGET, stored, lambda o: o["status"].update(disruptionsAllowed=-1)
    )
    assert errs == [
        "status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0"
    ]
