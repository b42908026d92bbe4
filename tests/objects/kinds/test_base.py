"""What every kind shares: the create/update pipeline, resourceVersions on create, malformed
documents, metadata-only kinds."""

from __future__ import annotations

import pytest
from kubemu.objects.errors import StatusError
from kubemu.objects.kinds import CONFIG_MAP, POD, SERVICE_ACCOUNT

from .factories import Obj, create, create_valid, messages, pod, update


def test_create_refuses_a_resource_version() -> None:
    obj = pod()
    obj["metadata"]["resourceVersion"] = "7"
    with pytest.raises(StatusError) as exc:
        POD.prepare_for_create(obj)
    assert exc.value.code == 400


def test_create_fills_generate_name_and_sets_type_meta() -> None:
    obj: Obj = {
        "metadata": {"generateName": "web-", "namespace": "d"},
        "spec": {"containers": [{"name": "a", "image": "x"}]},
    }
    POD.default(obj)
    POD.prepare_for_create(obj, name_generator=lambda base: base + "q2x7z")
    assert obj["metadata"]["name"] == "web-q2x7z"
    assert (obj["apiVersion"], obj["kind"]) == ("v1", "Pod")
    assert POD.validate_create(obj) == []


def test_malformed_documents_are_reported_not_raised() -> None:
    obj = pod()
    obj["spec"]["containers"] = "not a list"
    errs = messages(POD.validate_create(create(POD, obj)))
    assert errs == ['spec.containers: Invalid value: "not a list": must be a list of containers']
    broken = pod()
    broken["metadata"]["labels"] = ["a"]
    assert messages(POD.validate_create(create(POD, broken))) == [
        'metadata.labels: Invalid value: []string{"a"}: '
        "must be a map of string keys to string values"
    ]


def test_metadata_only_kind() -> None:
    sa: Obj = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": "d"},
    }
    stored = create_valid(SERVICE_ACCOUNT, sa)
    assert "status" not in stored and "generation" not in stored["metadata"]
    _, errs = update(SERVICE_ACCOUNT, stored, lambda o: o["metadata"].update(name="other"))
    assert errs == ['metadata.name: Invalid value: "other": field is immutable']


def test_update_requires_resource_version_and_keeps_uid() -> None:
    stored = create_valid(
        CONFIG_MAP,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}},
    )
    new, errs = update(CONFIG_MAP, stored, lambda o: o["metadata"].pop("uid"))
    assert errs == [] and new["metadata"]["uid"] == "uid-1"
    _, errs = update(CONFIG_MAP, stored, lambda o: o["metadata"].pop("resourceVersion"))
    assert errs == ['metadata.resourceVersion: Invalid value: "": must be specified for an update']
