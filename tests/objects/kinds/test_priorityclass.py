"""PriorityClass (scheduling.k8s.io/v1)."""

from __future__ import annotations

from kubemu.objects.kinds import PRIORITY_CLASS

from .factories import Obj, create, create_valid, messages, update


def pc(name: str = "high", value: int = 1000, **fields: object) -> Obj:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        **fields,
    }


def test_defaults_and_cluster_scope() -> None:
    created = create_valid(PRIORITY_CLASS, pc())
    assert created["preemptionPolicy"] == "PreemptLowerPriority"
    assert PRIORITY_CLASS.key(None, "high") == b"/registry/scheduling.k8s.io/priorityclasses/high"


def test_values() -> None:
    assert messages(
        PRIORITY_CLASS.validate_create(create(PRIORITY_CLASS, pc(value=2_000_000_000)))
    ) == ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
    create_valid(PRIORITY_CLASS, pc("system-node-critical", 2_000_001_000))
    assert messages(
        PRIORITY_CLASS.validate_create(create(PRIORITY_CLASS, pc("system-mine", 5)))
    ) == [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
        "system use only. error: system-mine is not a known system priority class"
    ]
    assert messages(
        PRIORITY_CLASS.validate_create(create(PRIORITY_CLASS, pc(preemptionPolicy="Always")))
    ) == [
        'preemptionPolicy: Unsupported value: "Always": supported values: '
        '"PreemptLowerPriority", "Never"'
    ]


def test_value_is_immutable() -> None:
    stored = create_valid(PRIORITY_CLASS, pc())
    _, errs = update(PRIORITY_CLASS, stored, lambda o: o.update(value=5, preemptionPolicy="Never"))
    assert errs == [
        "value: Forbidden: may not be changed in an update.",
        'preemptionPolicy: Invalid value: "Never": field is immutable',
    ]
