"""DaemonSet (apps/v1)."""

from __future__ import annotations

from kubemu.objects.kinds import DAEMON_SET

from .factories import Obj, container, create, create_valid, messages, update


def ds(**spec: object) -> Obj:
    base: Obj = {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [container()]},
        },
    }
    base.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "kube-system"},
        "spec": base,
    }


def test_defaults_and_status() -> None:
    created = create_valid(DAEMON_SET, ds())
    assert created["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert created["spec"]["revisionHistoryLimit"] == 10
    assert created["status"] == {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }


def test_validation() -> None:
    errs = messages(DAEMON_SET.validate_create(create(DAEMON_SET, ds(selector=None))))
    assert errs == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"agent"}: '
        "`selector` does not match template `labels`"
    ]
    errs = messages(
        DAEMON_SET.validate_create(create(DAEMON_SET, ds(updateStrategy={"type": "Surge"})))
    )
    assert errs == [
        'spec.updateStrategy: Unsupported value: {"type":"Surge"}: supported values: '
        '"RollingUpdate", "OnDelete"'
    ]
    zero = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}
    assert messages(DAEMON_SET.validate_create(create(DAEMON_SET, ds(updateStrategy=zero)))) == [
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
        "`maxSurge` is 0"
    ]


def test_template_change_bumps_generation_and_selector_is_immutable() -> None:
    stored = create_valid(DAEMON_SET, ds())
    new, errs = update(
        DAEMON_SET,
        stored,
        lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="agent:2"),
    )
    assert errs == [] and new["metadata"]["generation"] == 2
    _, errs = update(
        DAEMON_SET, stored, lambda o: o["spec"]["selector"]["matchLabels"].update(x="y")
    )
    assert (
        errs[-1] == 'spec.selector: Invalid value: {"matchLabels":{"app":"agent","x":"y"}}: '
        "field is immutable"
    )
