"""Deployment: defaulting of a real manifest, validation, generation and status strategies."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from kubemu.objects.kinds import DEPLOYMENT

from .factories import Obj, create, create_valid, messages, status_update, update

# The example of the Kubernetes documentation ("Creating a Deployment"), as decoded from YAML.
NGINX: Obj = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    },
}


def nginx() -> Obj:
    return copy.deepcopy(NGINX)


def test_defaults_match_what_kubectl_get_shows() -> None:
    d = nginx()
    DEPLOYMENT.default(d)
    assert d["spec"] == {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.14.2",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
                "schedulerName": "default-scheduler",
            },
        },
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
        },
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    # Pod-only defaults do not apply to templates.
    assert "enableServiceLinks" not in d["spec"]["template"]["spec"]


def test_defaults_replicas_and_keeps_recreate() -> None:
    d = nginx()
    del d["spec"]["replicas"]
    d["spec"]["strategy"] = {"type": "Recreate"}
    DEPLOYMENT.default(d)
    assert d["spec"]["replicas"] == 1
    assert d["spec"]["strategy"] == {"type": "Recreate"}


def test_create() -> None:
    d = create_valid(DEPLOYMENT, nginx())
    assert d["metadata"]["generation"] == 1
    assert d["status"] == {}


def errors(change: Callable[[Obj], object]) -> list[str]:
    d = nginx()
    change(d)
    return messages(DEPLOYMENT.validate_create(create(DEPLOYMENT, d)))


def test_selector_must_match_the_template() -> None:
    assert errors(lambda d: d["spec"]["template"]["metadata"].update(labels={"app": "web"})) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        "`selector` does not match template `labels`"
    ]
    # As upstream: a missing selector selects nothing, so the template does not match either.
    assert errors(lambda d: d["spec"].pop("selector")) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: '
        "`selector` does not match template `labels`",
    ]
    assert errors(lambda d: d["spec"].update(selector={})) == [
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment"
    ]


def test_template_restarts_always() -> None:
    assert errors(lambda d: d["spec"]["template"]["spec"].update(restartPolicy="Never")) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]
    assert errors(lambda d: d["spec"]["template"]["spec"].update(activeDeadlineSeconds=5)) == [
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
        "ReplicaSet is not Supported"
    ]


def test_template_pod_spec_is_validated() -> None:
    assert errors(lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="")) == [
        "spec.template.spec.containers[0].image: Required value"
    ]


@pytest.mark.parametrize(
    ("rolling", "expected"),
    [
        ({"maxUnavailable": 0, "maxSurge": "0%"}, [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
            "`maxSurge` is 0"]),
        ({"maxUnavailable": "110%", "maxSurge": 1}, [
            'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "110%": must not be '
            "greater than 100%"]),
        ({"maxUnavailable": "half", "maxSurge": -1}, [
            'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "half": a valid percent '
            "string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
            "regex used for validation is '[0-9]+%')",
            "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or "
            "equal to 0"]),
    ],
)  # fmt: skip
def test_rolling_update(rolling: Obj, expected: list[str]) -> None:
    assert (
        errors(
            lambda d: d["spec"].update(strategy={"type": "RollingUpdate", "rollingUpdate": rolling})
        )
        == expected
    )


def test_other_spec_rules() -> None:
    assert errors(lambda d: d["spec"].update(replicas=-1)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    ]
    assert errors(lambda d: d["spec"].update(minReadySeconds=600)) == [
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"
    ]
    assert errors(
        lambda d: d["spec"].update(strategy={"type": "Recreate", "rollingUpdate": {}})
    ) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        "'Recreate'"
    ]
    assert errors(lambda d: d["spec"].update(strategy={"type": "BlueGreen"})) == [
        'spec.strategy: Unsupported value: {"type":"BlueGreen"}: supported values: "Recreate", '
        '"RollingUpdate"'
    ]
    assert errors(lambda d: d["spec"].update(replicas="3")) == [
        'spec.replicas: Invalid value: "3": must be an integer'
    ]


def test_update_rules() -> None:
    stored = create_valid(DEPLOYMENT, nginx())
    _, errs = update(
        DEPLOYMENT, stored, lambda d: d["spec"]["selector"]["matchLabels"].update(tier="x")
    )
    assert (
        'spec.selector: Invalid value: {"matchLabels":{"app":"nginx","tier":"x"}}: '
        "field is immutable" in errs
    )
    scaled, errs = update(DEPLOYMENT, stored, lambda d: d["spec"].update(replicas=5))
    assert errs == [] and scaled["metadata"]["generation"] == 2
    annotated, _ = update(
        DEPLOYMENT, stored, lambda d: d["metadata"].update(annotations={"a": "b"})
    )
    assert annotated["metadata"]["generation"] == 2  # annotations reach the ReplicaSets
    relabelled, _ = update(DEPLOYMENT, stored, lambda d: d["metadata"]["labels"].update(x="y"))
    assert relabelled["metadata"]["generation"] == 1


def test_status_update_keeps_spec_and_labels() -> None:
    stored = create_valid(DEPLOYMENT, nginx())

    def change(d: Obj) -> None:
        d["status"] = {"replicas": 3, "observedGeneration": 1}
        d["spec"]["replicas"] = 10
        d["metadata"]["labels"] = {"hacked": "yes"}
        d["metadata"]["annotations"] = {"note": "kept"}

    new, errs = status_update(DEPLOYMENT, stored, change)
    assert errs == []
    assert new["status"] == {"replicas": 3, "observedGeneration": 1}
    assert new["spec"]["replicas"] == 3
    assert new["metadata"]["labels"] == {"app": "nginx"}
    assert new["metadata"]["annotations"] == {"note": "kept"}
    assert new["metadata"]["generation"] == 1
