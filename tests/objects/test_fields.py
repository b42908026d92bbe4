"""Field selectors: parse, escape, match, and upstream's errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubemu.objects.fields import (
    FieldSelector,
    Term,
    escape_value,
    parse_field_selector,
    unescape_value,
    unsupported_fields,
)

POD_FIELDS = {"metadata.name": "web-1", "spec.nodeName": "", "status.phase": "Running"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name!=web-1", False),
        ("spec.nodeName=", True),
        ("spec.nodeName!=", False),
        ("status.phase=Running,spec.nodeName=", True),
        ("status.phase=Running,spec.nodeName=n1", False),
        ("metadata.namespace=", True),  # a missing field reads as ""
    ],
)
def test_matching(selector: str, matches: bool) -> None:
    assert parse_field_selector(selector).matches(POD_FIELDS) is matches


def test_terms_are_sorted_and_printed_back() -> None:
    sel = parse_field_selector("status.phase==Running,metadata.name!=x,spec.nodeName=")
    assert sel.terms == (
        Term("metadata.name", "x", equal=False),
        Term("spec.nodeName", ""),
        Term("status.phase", "Running"),
    )
    assert str(sel) == "metadata.name!=x,spec.nodeName=,status.phase=Running"
    assert sel.fields() == ["metadata.name", "spec.nodeName", "status.phase"]


def test_exact_value() -> None:
    sel = parse_field_selector("spec.nodeName=n1,metadata.name!=x")
    assert sel.exact_value("spec.nodeName") == "n1"
    assert sel.exact_value("metadata.name") is None
    assert FieldSelector().exact_value("spec.nodeName") is None


def test_escaping() -> None:
    sel = parse_field_selector(r"metadata.name=a\,b\=c\\d,x=y")
    assert sel.exact_value("metadata.name") == r"a,b=c\d"
    assert str(sel) == r"metadata.name=a\,b\=c\\d,x=y"
    assert escape_value("a,b=c") == r"a\,b\=c"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
        ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_field_selector(text)
    assert str(exc.value) == message


def test_unsupported_fields() -> None:
    sel = parse_field_selector("spec.nodeName=x,spec.foo=y")
    assert unsupported_fields(sel, {"spec.nodeName", "metadata.name"}) == [
        "field label not supported: spec.foo"
    ]


@given(st.text(alphabet="ab,=\\ .-", max_size=12))
def test_escape_round_trip(value: str) -> None:
    assert unescape_value(escape_value(value)) == value
    sel = parse_field_selector(f"f={escape_value(value)}")
    assert sel.exact_value("f") == value
    assert parse_field_selector(str(sel)) == sel
