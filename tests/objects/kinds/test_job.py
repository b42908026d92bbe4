"""Job (batch/v1): defaults, the generated selector, validation and updates."""

from __future__ import annotations

from kubemu.objects.kinds import JOB

from .factories import Obj, container, create, create_valid, messages, update


def job(**spec: object) -> Obj:
    base: Obj = {
        "template": {
            "spec": {"containers": [container(image="perl:5.34")], "restartPolicy": "Never"}
        }
    }
    base.update(spec)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "namespace": "d"},
        "spec": base,
    }


def test_defaults_and_generated_selector() -> None:
    created = create_valid(JOB, job())
    spec = created["spec"]
    assert {
        k: spec[k]
        for k in (
            "completions",
            "parallelism",
            "backoffLimit",
            "completionMode",
            "suspend",
            "podReplacementPolicy",
        )
    } == {
        "completions": 1,
        "parallelism": 1,
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed",
    }
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-1"}}
    assert spec["template"]["metadata"]["labels"] == {
        "job-name": "pi",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "uid-1",
        "batch.kubernetes.io/controller-uid": "uid-1",
    }
    assert created["metadata"]["generation"] == 1
    assert JOB.fields(created)["status.successful"] == "0"


def test_parallelism_alone_leaves_completions_unset() -> None:
    obj = job(parallelism=3)
    JOB.default(obj)
    assert "completions" not in obj["spec"] and obj["spec"]["parallelism"] == 3


def test_restart_policy() -> None:
    obj = job()
    del obj["spec"]["template"]["spec"]["restartPolicy"]
    assert messages(JOB.validate_create(create(JOB, obj))) == [
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'
    ]


def test_manual_selector_must_match() -> None:
    obj = job(manualSelector=True, selector={"matchLabels": {"app": "pi"}})
    errs = messages(JOB.validate_create(create(JOB, obj)))
    assert errs == [
        "spec.template.metadata.labels: Invalid value: map[string]string{}: `selector` does not "
        "match template `labels`"
    ]
    assert messages(JOB.validate_create(create(JOB, job(manualSelector=True)))) == [
        "spec.selector: Required value",
        "spec.template.metadata.labels: Invalid value: map[string]string{}: `selector` does not "
        "match template `labels`",
    ]


def test_other_rules() -> None:
    errs = messages(JOB.validate_create(create(JOB, job(backoffLimit=-1, completionMode="Random"))))
    assert errs == [
        "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
        'spec.completionMode: Unsupported value: "Random": supported values: "NonIndexed", '
        '"Indexed"',
    ]


def test_updates() -> None:
    stored = create_valid(JOB, job())
    _, errs = update(JOB, stored, lambda o: o["spec"].update(completions=5))
    assert errs == ["spec.completions: Invalid value: 5: field is immutable"]
    _, errs = update(
        JOB, stored, lambda o: o["spec"]["template"]["spec"].update(nodeSelector={"a": "b"})
    )
    assert (
        len(errs) == 1
        and errs[0].startswith("spec.template: Invalid value:")
        and errs[0].endswith("field is immutable")
    )
    suspended = create_valid(JOB, job(suspend=True))
    _, errs = update(
        JOB, suspended, lambda o: o["spec"]["template"]["spec"].update(nodeSelector={"a": "b"})
    )
    assert errs == []
