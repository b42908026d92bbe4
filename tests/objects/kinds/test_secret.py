"""Secret: stringData, data keys and size, typed secrets, immutability."""

from __future__ import annotations

import base64

from kubemu.objects.kinds import SECRET
from kubemu.objects.kinds.secret import decode_data

from .factories import Obj, create, create_valid, messages, update


def secret(**fields: object) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "d"},
        **fields,
    }


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_defaults_merge_string_data() -> None:
    created = create_valid(SECRET, secret(data={"a": b64("1")}, stringData={"b": "2", "a": "3"}))
    assert created["type"] == "Opaque"
    assert "stringData" not in created
    assert decode_data(created) == {"a": b"3", "b": b"2"}
    assert SECRET.fields(created)["type"] == "Opaque"


def test_validation() -> None:
    bad = secret(data={"a/b": b64("x"), "ok": "!!notbase64"})
    assert messages(SECRET.validate_create(create(SECRET, bad))) == [
        'data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric '
        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
        "used for validation is '[-._a-zA-Z0-9]+')",
        'data[ok]: Invalid value: "<secret contents redacted>": '
        "illegal base64 data at input byte 0",
    ]
    big = secret(data={"blob": b64("x" * (1024 * 1024 + 1))})
    assert messages(SECRET.validate_create(create(SECRET, big))) == [
        "data: Too long: may not be more than 1048576 bytes"
    ]
    tls = secret(type="kubernetes.io/tls", data={"tls.crt": b64("c")})
    assert messages(SECRET.validate_create(create(SECRET, tls))) == [
        "data[tls.key]: Required value"
    ]
    token = secret(type="kubernetes.io/service-account-token")
    assert messages(SECRET.validate_create(create(SECRET, token))) == [
        "metadata.annotations[kubernetes.io/service-account.name]: Required value"
    ]
    docker = secret(type="kubernetes.io/dockerconfigjson", data={".dockerconfigjson": b64("{")})
    assert messages(SECRET.validate_create(create(SECRET, docker)))[0].startswith(
        'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>"'
    )


def test_raw_bytes_from_msgpack_are_data() -> None:
    created = create_valid(SECRET, secret(data={"k": b"\x00\x01"}))
    assert decode_data(created) == {"k": b"\x00\x01"}


def test_updates() -> None:
    stored = create_valid(SECRET, secret(data={"a": b64("1")}, immutable=True))
    _, errs = update(
        SECRET, stored, lambda o: o.update(type="kubernetes.io/tls", immutable=False, data={})
    )
    assert errs[:3] == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable',
        "immutable: Forbidden: field is immutable when `immutable` is set",
        "data: Forbidden: field is immutable when `immutable` is set",
    ]
    _, errs = update(SECRET, stored, lambda o: o["metadata"].update(labels={"a": "b"}))
    assert errs == []
