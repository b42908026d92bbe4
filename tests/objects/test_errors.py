"""FieldError text and StatusError objects, as upstream prints and returns them."""

from __future__ import annotations

import pytest
from kubemu.objects.errors import (
    GRPC_CODE_BY_REASON,
    ErrorType,
    FieldError,
    Reason,
    StatusError,
    duplicate,
    forbidden,
    go_value,
    internal_error,
    invalid,
    not_found,
    not_supported,
    required,
    too_long,
    too_many,
)
from kubemu.objects.quantity import parse_quantity


def test_invalid_shows_quoted_value_and_detail() -> None:
    err = invalid("metadata.name", "Foo", "a lowercase RFC 1123 subdomain must ...")
    assert str(err) == (
        'metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must ...'
    )


def test_required_never_shows_a_value() -> None:
    assert str(required("spec.containers[0].name")) == "spec.containers[0].name: Required value"
    assert (
        str(required("metadata.name", "name or generateName is required"))
        == "metadata.name: Required value: name or generateName is required"
    )


def test_not_supported_lists_values_in_the_given_order() -> None:
    err = not_supported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"])
    assert str(err) == (
        'spec.restartPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "OnFailure", "Never"'
    )


def test_other_types() -> None:
    assert str(duplicate("spec.containers[1].name", "a")) == (
        'spec.containers[1].name: Duplicate value: "a"'
    )
    assert str(forbidden("spec", "pod updates may not change fields")) == (
        "spec: Forbidden: pod updates may not change fields"
    )
    assert str(not_found("spec.containers[0].volumeMounts[0].name", "data")) == (
        'spec.containers[0].volumeMounts[0].name: Not found: "data"'
    )
    assert str(too_long("metadata.annotations", 262144)) == (
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    )
    assert str(too_long("x", 1)) == "x: Too long: may not be more than 1 byte"
    assert str(too_many("endpoints", 1001, 1000)) == (
        "endpoints: Too many: 1001: must have at most 1000 items"
    )
    assert str(internal_error("spec", "boom")) == "spec: Internal error: boom"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "null"),
        (True, "true"),
        (3, "3"),
        (-1, "-1"),
        (1.5, "1.5"),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        ("\x00", '"\\x00"'),
        ({"b": "2", "a": "1"}, 'map[string]string{"a":"1", "b":"2"}'),
        (["x", "y"], '[]string{"x", "y"}'),
        ({"port": 80}, '{"port":80}'),
    ],
)
def test_values_print_as_go_does(value: object, shown: str) -> None:
    assert go_value(value) == shown


def test_a_quantity_prints_bare_like_a_go_stringer() -> None:
    err = invalid(
        "spec.containers[0].resources.limits[nvidia.com/gpu]",
        parse_quantity("0.5"),
        "must be an integer",
    )
    assert str(err) == (
        "spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: 500m: "
        "must be an integer"
    )


def test_cause_uses_the_type_as_reason() -> None:
    cause = required("spec.containers").cause()
    assert cause == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.containers",
    }
    assert ErrorType.NOT_SUPPORTED.label == "Unsupported value"


def test_not_found_status_as_kube_apiserver_returns_it() -> None:
    err = StatusError.not_found("pods", "x")
    assert str(err) == 'pods "x" not found'
    assert err.to_status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "kind": "pods"},
        "code": 404,
    }
    grouped = StatusError.not_found("deployments", "web", group="apps")
    assert grouped.message == 'deployments.apps "web" not found'
    assert grouped.details == {"name": "web", "group": "apps", "kind": "deployments"}


def test_conflict_and_already_exists_messages() -> None:
    err = StatusError.conflict("pods", "x")
    assert err.code == 409 and err.reason is Reason.CONFLICT
    assert err.message == (
        'Operation cannot be fulfilled on pods "x": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    exists = StatusError.already_exists("namespaces", "kube-system")
    assert exists.message == 'namespaces "kube-system" already exists'
    assert exists.code == 409 and exists.reason is Reason.ALREADY_EXISTS


def test_invalid_bracketed_only_for_several_distinct_errors() -> None:
    one = StatusError.invalid("Pod", "x", [required("spec.containers[0].name")])
    assert one.message == 'Pod "x" is invalid: spec.containers[0].name: Required value'
    errs = [
        required("spec.containers[0].name"),
        required("spec.containers[0].image"),
        required("spec.containers[0].name"),
    ]
    many = StatusError.invalid("Deployment", "web", errs, group="apps")
    assert many.message == (
        'Deployment.apps "web" is invalid: '
        "[spec.containers[0].name: Required value, spec.containers[0].image: Required value]"
    )
    status = many.to_status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Deployment"
    assert status["details"]["group"] == "apps"
    assert len(status["details"]["causes"]) == 3
    assert status["details"]["causes"][1] == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.containers[0].image",
    }


def test_other_constructors() -> None:
    assert StatusError.bad_request("bad").to_status()["code"] == 400
    expired = StatusError.too_old_resource_version(5, 100)
    assert expired.message == "too old resource version: 5 (100)"
    assert (expired.code, expired.reason) == (410, Reason.EXPIRED)
    assert StatusError.gone("gone").code == 410
    assert StatusError.forbidden("pods", "x", "no").message == 'pods "x" is forbidden: no'
    assert StatusError.forbidden("pods", "", "no").message == "pods is forbidden: no"
    assert StatusError.unauthorized().message == "not authorized"
    assert StatusError.method_not_supported("nodes", "create").message == (
        'create is not supported on resources of kind "nodes"'
    )
    assert StatusError.request_entity_too_large("limit is 3145728").message == (
        "Request entity too large: limit is 3145728"
    )
    throttled = StatusError.too_many_requests("slow down", 2)
    assert throttled.to_status()["details"] == {"retryAfterSeconds": 2}
    internal = StatusError.internal_error("disk on fire")
    assert internal.message == "Internal error occurred: disk on fire"
    assert internal.to_status()["details"] == {"causes": [{"message": "disk on fire"}]}
    assert StatusError.timeout("took too long", 1).code == 504
    assert StatusError.service_unavailable("later").code == 503


def test_status_round_trip() -> None:
    err = StatusError.invalid("Pod", "x", [required("spec.containers")])
    back = StatusError.from_status(err.to_status())
    assert (back.reason, back.code, back.message, back.details) == (
        err.reason,
        err.code,
        err.message,
        err.details,
    )


def test_grpc_codes_cover_every_reason() -> None:
    assert set(GRPC_CODE_BY_REASON) == set(Reason)
    assert StatusError.invalid("Pod", "x", []).grpc_code == "INVALID_ARGUMENT"
    assert StatusError.not_found("pods", "x").grpc_code == "NOT_FOUND"
    assert StatusError.already_exists("pods", "x").grpc_code == "ALREADY_EXISTS"
    assert StatusError.conflict("pods", "x").grpc_code == "ABORTED"
    assert StatusError.too_old_resource_version(1, 2).grpc_code == "OUT_OF_RANGE"
    assert StatusError.gone("x").grpc_code == "OUT_OF_RANGE"
    assert StatusError.unauthorized().grpc_code == "UNAUTHENTICATED"
    assert StatusError.forbidden("pods", "x", "no").grpc_code == "PERMISSION_DENIED"
    assert StatusError.too_many_requests("x").grpc_code == "RESOURCE_EXHAUSTED"
    assert StatusError.request_entity_too_large("x").grpc_code == "RESOURCE_EXHAUSTED"
    assert StatusError.bad_request("x").grpc_code == "INVALID_ARGUMENT"
    assert StatusError.internal_error("x").grpc_code == "INTERNAL"


def test_field_error_is_a_value() -> None:
    assert invalid("a", 1, "d") == FieldError(ErrorType.INVALID, "a", 1, "d")
