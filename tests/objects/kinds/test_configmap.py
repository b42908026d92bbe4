"""ConfigMap."""

from __future__ import annotations

from kubemu.objects.kinds import CONFIG_MAP

from .factories import Obj, create, create_valid, messages, update


def cm(**fields: object) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "d"},
        **fields,
    }


def test_validation() -> None:
    create_valid(CONFIG_MAP, cm(data={"app.properties": "x=1"}, binaryData={"logo.png": "AAAA"}))
    bad = cm(data={"..dots": "x", "k": "1"}, binaryData={"k": "AA=="})
    assert messages(CONFIG_MAP.validate_create(create(CONFIG_MAP, bad))) == [
        "data[..dots]: Invalid value: \"..dots\": must not start with '..'",
        'data[k]: Invalid value: "k": duplicate of key present in binaryData',
    ]
    big = cm(data={"a": "x" * (1024 * 1024), "b": "y"})
    assert messages(CONFIG_MAP.validate_create(create(CONFIG_MAP, big))) == [
        ": Too long: may not be more than 1048576 bytes"
    ]


def test_immutable() -> None:
    stored = create_valid(CONFIG_MAP, cm(data={"a": "1"}, immutable=True))
    _, errs = update(CONFIG_MAP, stored, lambda o: o["data"].update(a="2"))
    assert errs == ["data: Forbidden: field is immutable when `immutable` is set"]
    mutable = create_valid(CONFIG_MAP, cm(data={"a": "1"}))
    assert update(CONFIG_MAP, mutable, lambda o: o["data"].update(a="2"))[1] == []
