"""ReplicaSet (apps/v1)."""

from __future__ import annotations

from kubemu.objects.kinds import REPLICA_SET

from .factories import Obj, container, create, create_valid, messages, status_update, update


def rs(**spec: object) -> Obj:
    base: Obj = {
        "replicas": 2,
        "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container()]}},
    }
    base.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "namespace": "d"},
        "spec": base,
    }


def test_defaults_and_create() -> None:
    obj = rs()
    del obj["spec"]["replicas"]
    created = create_valid(REPLICA_SET, obj)
    assert created["spec"]["replicas"] == 1
    assert created["status"] == {"replicas": 0}
    assert created["metadata"]["generation"] == 1
    assert REPLICA_SET.fields(created)["status.replicas"] == "0"


def test_validation() -> None:
    bad = create(
        REPLICA_SET,
        rs(
            replicas=-2,
            template={"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [container()]}},
        ),
    )
    assert messages(REPLICA_SET.validate_create(bad)) == [
        "spec.replicas: Invalid value: -2: must be greater than or equal to 0",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: '
        "`selector` does not match template `labels`",
    ]


def test_selector_is_immutable_and_status_is_validated() -> None:
    stored = create_valid(REPLICA_SET, rs())
    _, errs = update(
        REPLICA_SET, stored, lambda o: o["spec"].update(selector={"matchLabels": {"app": "web"}})
    )
    assert errs == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"web"}}: field is immutable'
    ]
    new, errs = status_update(
        REPLICA_SET, stored, lambda o: o["status"].update(replicas=2, readyReplicas=3)
    )
    assert errs == [
        "status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas"
    ]
    new, errs = status_update(
        REPLICA_SET, stored, lambda o: o["status"].update(replicas=2, readyReplicas=2)
    )
    assert errs == [] and REPLICA_SET.fields(new)["status.replicas"] == "2"
