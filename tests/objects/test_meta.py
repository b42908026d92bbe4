"""ObjectMeta validation, system fields and resourceVersion helpers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from kubemu.objects.errors import StatusError
from kubemu.objects.meta import (
    check_create_resource_version,
    ensure_namespace,
    new_uid,
    now_rfc3339,
    now_rfc3339_micro,
    parse_resource_version,
    prepare_create,
    prepare_for_storage,
    prepare_update,
    resource_version,
    set_resource_version,
    validate_object_meta,
    validate_object_meta_update,
)
from kubemu.objects.names import name_is_dns_subdomain


def errors(meta: Any, namespaced: bool = True) -> list[str]:
    return [
        str(e)
        for e in validate_object_meta(meta, namespaced=namespaced, name_fn=name_is_dns_subdomain)
    ]


def test_valid_meta() -> None:
    meta = {
        "name": "web",
        "namespace": "default",
        "labels": {"app.kubernetes.io/name": "web", "tier": ""},
        "annotations": {"Example.com/Note": "anything goes here"},
        "finalizers": ["kubernetes", "example.com/cleanup"],
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u",
             "controller": True},
        ],
    }  # fmt: skip
    assert errors(meta) == []


def test_name_or_generate_name_required() -> None:
    assert errors({"namespace": "default"}) == [
        "metadata.name: Required value: name or generateName is required"
    ]


def test_namespace_required_or_forbidden() -> None:
    assert errors({"name": "a"}) == ["metadata.namespace: Required value"]
    assert errors({"name": "a", "namespace": "x"}, namespaced=False) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]
    assert errors({"name": "a", "namespace": "Bad_NS"})[0].startswith(
        'metadata.namespace: Invalid value: "Bad_NS": a lowercase RFC 1123 label'
    )


def test_generate_name_is_validated_as_a_prefix() -> None:
    assert errors({"generateName": "web-", "name": "web-x2b4z", "namespace": "d"}) == []
    assert errors({"generateName": "Web-", "name": "web-x2b4z", "namespace": "d"})[0].startswith(
        'metadata.generateName: Invalid value: "Web-": a lowercase RFC 1123 subdomain'
    )


def test_labels_and_annotations() -> None:
    errs = errors(
        {"name": "a", "namespace": "d", "labels": {"a": "b c"}, "annotations": {"-x": ""}}
    )
    assert errs[0].startswith('metadata.labels: Invalid value: "b c": a valid label must be')
    assert errs[1].startswith('metadata.annotations: Invalid value: "-x": name part must')
    big = {"name": "a", "namespace": "d", "annotations": {"k": "v" * (256 * 1024)}}
    assert errors(big) == ["metadata.annotations: Too long: may not be more than 262144 bytes"]
    assert errors({"name": "a", "namespace": "d", "labels": {"n": 1}}) == [
        "metadata.labels: Invalid value: 1: must be a map of string keys to string values"
    ]


def test_finalizers() -> None:
    assert errors({"name": "a", "namespace": "d", "finalizers": ["custom"]}) == [
        'metadata.finalizers[0]: Invalid value: "custom": name is neither a standard finalizer '
        "name nor is it fully qualified"
    ]
    errs = errors({"name": "a", "namespace": "d", "finalizers": ["orphan", "foregroundDeletion"]})
    assert errs == [
        'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: '
        "finalizer orphan and foregroundDeletion cannot be both set"
    ]


def test_owner_references() -> None:
    refs = [
        {"apiVersion": "", "kind": "", "name": "", "uid": ""},
        {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "1"},
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "a",
            "uid": "2",
            "controller": True,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "b",
            "uid": "3",
            "controller": True,
        },
    ]
    errs = errors({"name": "a", "namespace": "d", "ownerReferences": refs})
    assert errs[:4] == [
        'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
        'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
        'metadata.ownerReferences.name: Invalid value: "": must not be empty',
        'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    ]
    assert "/v1, Kind=Event is disallowed from being an owner" in errs[4]
    assert errs[5].endswith(
        'Only one reference can have Controller set to true. Found "true" in references for '
        "ReplicaSet/a and ReplicaSet/b"
    )


def test_negative_generation() -> None:
    assert errors({"name": "a", "namespace": "d", "generation": -1}) == [
        "metadata.generation: Invalid value: -1: must be greater than or equal to 0"
    ]


OLD = {
    "name": "a",
    "namespace": "d",
    "uid": "u1",
    "creationTimestamp": "2026-01-01T00:00:00Z",
    "resourceVersion": "5",
    "generation": 3,
}


def update_errors(new: dict[str, Any], old: dict[str, Any] = OLD) -> list[str]:
    return [str(e) for e in validate_object_meta_update(new, old)]


def test_update_keeps_identity_immutable() -> None:
    assert update_errors(dict(OLD)) == []
    errs = update_errors({**OLD, "name": "b", "uid": "u2", "creationTimestamp": "x"})
    assert errs == [
        'metadata.name: Invalid value: "b": field is immutable',
        'metadata.uid: Invalid value: "u2": field is immutable',
        'metadata.creationTimestamp: Invalid value: "x": field is immutable',
    ]


def test_update_needs_a_resource_version_and_generation_never_decreases() -> None:
    new = {k: v for k, v in OLD.items() if k != "resourceVersion"}
    assert update_errors({**new, "generation": 2}) == [
        'metadata.resourceVersion: Invalid value: "": must be specified for an update',
        "metadata.generation: Invalid value: 2: must not be decremented",
    ]


def test_no_new_finalizers_while_deleting() -> None:
    old = {**OLD, "deletionTimestamp": "2026-01-01T00:00:01Z", "finalizers": ["a.io/x"]}
    new = {**old, "finalizers": ["a.io/x", "b.io/y"]}
    assert update_errors(new, old) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        'deleted, found new finalizers []string{"b.io/y"}'
    ]


def test_prepare_create_sets_system_fields() -> None:
    obj: dict[str, Any] = {
        "metadata": {
            "generateName": "web-",
            "uid": "client-uid",
            "deletionTimestamp": "x",
            "resourceVersion": "0",
        }
    }
    prepare_create(obj, now="2026-11-26T10:00:00Z", uid="u1", name_generator=lambda b: b + "abcde")
    assert obj["metadata"] == {
        "generateName": "web-",
        "uid": "u1",
        "creationTimestamp": "2026-11-26T10:00:00Z",
        "name": "web-abcde",
    }
    fresh: dict[str, Any] = {"metadata": {"name": "x"}}
    prepare_create(fresh)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fresh["metadata"]["creationTimestamp"])
    assert len(fresh["metadata"]["uid"]) == 36


def test_prepare_update_takes_system_fields_from_old() -> None:
    old = {"metadata": {**OLD, "deletionTimestamp": "t", "deletionGracePeriodSeconds": 30}}
    new: dict[str, Any] = {"metadata": {"name": "a", "namespace": "d", "generation": 99}}
    prepare_update(new, old)
    assert new["metadata"]["uid"] == "u1"
    assert new["metadata"]["generation"] == 3
    assert new["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert new["metadata"]["deletionTimestamp"] == "t"
    assert new["metadata"]["deletionGracePeriodSeconds"] == 30


def test_resource_versions() -> None:
    assert parse_resource_version("") == 0
    assert parse_resource_version("0") == 0
    assert parse_resource_version("12345") == 12345
    with pytest.raises(ValueError) as exc:
        parse_resource_version("abc")
    assert str(exc.value) == (
        'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax'
    )
    with pytest.raises(ValueError, match="value out of range"):
        parse_resource_version(str(2**64))
    obj: dict[str, Any] = {"metadata": {"name": "x"}}
    assert resource_version(obj) == 0
    set_resource_version(obj, 42)
    assert obj["metadata"]["resourceVersion"] == "42" and resource_version(obj) == 42
    with pytest.raises(StatusError) as err:
        check_create_resource_version(obj)
    assert err.value.message == "resourceVersion should not be set on objects to be created"
    prepare_for_storage(obj)
    assert "resourceVersion" not in obj["metadata"]


def test_ensure_namespace() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "x"}}
    ensure_namespace(obj, "team-a", namespaced=True)
    assert obj["metadata"]["namespace"] == "team-a"
    ensure_namespace(obj, "", namespaced=False)
    assert "namespace" not in obj["metadata"]
    obj["metadata"]["namespace"] = "team-b"
    with pytest.raises(StatusError) as err:
        ensure_namespace(obj, "team-a", namespaced=True)
    assert err.value.code == 400


def test_timestamps_and_uids() -> None:
    assert now_rfc3339(1795687200.75) == "2026-11-26T10:00:00Z"
    assert now_rfc3339_micro(1795687200.5) == "2026-11-26T10:00:00.500000Z"
    assert new_uid() != new_uid()
