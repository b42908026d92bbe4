"""Small builders of Kubernetes-shaped documents for the kind tests."""

from __future__ import annotations

import copy
from typing import Any

from kubemu.objects.kinds import Kind

Obj = dict[str, Any]
NOW = "2026-11-26T10:00:00Z"


def container(name: str = "app", image: str = "nginx:1.25", **extra: Any) -> Obj:
    return {"name": name, "image": image, **extra}


def pod(name: str = "web", namespace: str = "default", **spec: Any) -> Obj:
    spec.setdefault("containers", [container()])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def messages(errors: list[Any]) -> list[str]:
    return [str(e) for e in errors]


def create(kind: Kind, obj: Obj, uid: str = "uid-1") -> Obj:
    """What the apiserver does before storing a new object: default, prepare."""
    kind.default(obj)
    kind.prepare_for_create(obj, now=NOW, uid=uid)
    obj["metadata"]["resourceVersion"] = "1"
    return obj


def create_valid(kind: Kind, obj: Obj) -> Obj:
    created = create(kind, obj)
    errs = kind.validate_create(created)
    assert errs == [], messages(errs)
    return created


def update(kind: Kind, old: Obj, change: Any) -> tuple[Obj, list[str]]:
    """Apply ``change(new)`` to a copy of ``old``; default, prepare and validate the update."""
    new = copy.deepcopy(old)
    change(new)
    kind.default(new)
    kind.prepare_for_update(new, old)
    return new, messages(kind.validate_update(new, old))


def status_update(kind: Kind, old: Obj, change: Any) -> tuple[Obj, list[str]]:
    new = copy.deepcopy(old)
    change(new)
    kind.default(new)
    kind.prepare_for_status_update(new, old)
    return new, messages(kind.validate_status_update(new, old))
