"""ReplicationController (core/v1): selector and labels default from the template."""

from __future__ import annotations

from kubemu.objects.kinds import REPLICATION_CONTROLLER

from .factories import Obj, container, create, create_valid, messages


def rc(**spec: object) -> Obj:
    base: Obj = {
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container()]}}
    }
    base.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "web", "namespace": "d"},
        "spec": base,
    }


def test_defaults_from_template() -> None:
    created = create_valid(REPLICATION_CONTROLLER, rc())
    assert created["spec"]["selector"] == {"app": "web"}
    assert created["metadata"]["labels"] == {"app": "web"}
    assert created["spec"]["replicas"] == 1
    assert created["status"] == {"replicas": 0}


def test_validation() -> None:
    obj = create(REPLICATION_CONTROLLER, rc(selector={"app": "db"}))
    assert messages(REPLICATION_CONTROLLER.validate_create(obj)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        "`selector` does not match template `labels`"
    ]
    no_template = create(REPLICATION_CONTROLLER, rc(template=None))
    assert messages(REPLICATION_CONTROLLER.validate_create(no_template)) == [
        "spec.selector: Required value",
        "spec.template: Required value",
    ]
    deadline = rc()
    deadline["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 3
    assert messages(
        REPLICATION_CONTROLLER.validate_create(create(REPLICATION_CONTROLLER, deadline))
    ) == [
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
        "ReplicationController is not Supported"
    ]
