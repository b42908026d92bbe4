"""Namespace: finalizer, name label, phases, finalize subresource."""

from __future__ import annotations

from kubemu.objects.kinds import NAMESPACE
from kubemu.objects.kinds.namespace import prepare_for_finalize, validate_finalize

from .factories import Obj, create, create_valid, messages, status_update, update


def ns(name: str = "team-a") -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def test_create() -> None:
    created = create_valid(NAMESPACE, ns())
    assert created["spec"] == {"finalizers": ["kubernetes"]}
    assert created["status"] == {"phase": "Active"}
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert NAMESPACE.fields(created) == {"metadata.name": "team-a", "status.phase": "Active"}
    assert NAMESPACE.key(None, "team-a") == b"/registry/namespaces/team-a"


def test_name_is_a_dns_label() -> None:
    errs = messages(NAMESPACE.validate_create(create(NAMESPACE, ns("a.b"))))
    assert errs == ['metadata.name: Invalid value: "a.b": must not contain dots']
    bad = ns()
    bad["spec"] = {"finalizers": ["custom"]}
    assert messages(NAMESPACE.validate_create(create(NAMESPACE, bad))) == [
        'spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor '
        "is it fully qualified"
    ]


def test_update_keeps_finalizers_and_status_and_the_label() -> None:
    stored = create_valid(NAMESPACE, ns())

    def change(o: Obj) -> None:
        o["spec"]["finalizers"] = []
        o["status"]["phase"] = "Terminating"
        o["metadata"]["labels"] = {"team": "a"}

    new, errs = update(NAMESPACE, stored, change)
    assert errs == []
    assert new["spec"]["finalizers"] == ["kubernetes"]
    assert new["status"] == {"phase": "Active"}
    assert new["metadata"]["labels"] == {"team": "a", "kubernetes.io/metadata.name": "team-a"}


def test_status_phase_follows_deletion() -> None:
    stored = create_valid(NAMESPACE, ns())
    _, errs = status_update(NAMESPACE, stored, lambda o: o["status"].update(phase="Terminating"))
    assert errs == [
        "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if "
        "`deletionTimestamp` is empty"
    ]
    stored["metadata"]["deletionTimestamp"] = "2026-11-26T10:00:00Z"
    _, errs = status_update(NAMESPACE, stored, lambda o: o["status"].update(phase="Terminating"))
    assert errs == []


def test_finalize() -> None:
    stored = create_valid(NAMESPACE, ns())
    new: Obj = {**stored, "spec": {"finalizers": []}, "status": {"phase": "Gone"}}
    prepare_for_finalize(new, stored)
    assert new["spec"] == {"finalizers": []} and new["status"] == {"phase": "Active"}
    assert validate_finalize(new, stored) == []
