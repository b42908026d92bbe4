"""Label selectors: parsing, matching, canonical strings, LabelSelector conversion and
validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubemu.objects.labels import (
    DOES_NOT_EXIST,
    EQUALS,
    EXISTS,
    IN,
    NOT_IN,
    Requirement,
    Selector,
    parse_selector,
    selector_from_label_selector,
    selector_from_set,
    validate_label_selector,
)

LABELS = {"app": "web", "tier": "frontend", "version": "3", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (web,db)", True),
        ("app notin (web,db)", False),
        ("missing notin (x)", True),
        ("missing in (x)", False),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("version>2", True),
        ("version>3", False),
        ("version<4", True),
        ("app>1", False),  # not an integer label value
        ("missing<4", False),
        ("app=web,tier=frontend", True),
        ("app=web,tier=backend", False),
        ("app=web,!missing,env in (prod)", True),
        ("env=", False),
        ("missing=", False),
        ("app in (,web)", True),
    ],
)
def test_matching(selector: str, matches: bool) -> None:
    assert parse_selector(selector).matches(LABELS) is matches


def test_parse_structure_and_canonical_string() -> None:
    sel = parse_selector("  c in (z,x) , a=b,!d,  e ,f>1,g notin (y)")
    assert [r.key for r in sel.requirements] == ["a", "c", "d", "e", "f", "g"]
    assert sel.requirements[1] == Requirement("c", IN, ("x", "z"))
    assert sel.requirements[2].operator == DOES_NOT_EXIST
    assert sel.requirements[3].operator == EXISTS
    assert str(sel) == "a=b,c in (x,z),!d,e,f>1,g notin (y)"
    assert parse_selector("x in (a,a,b)").requirements[0].values == ("a", "b")
    with pytest.raises(ValueError, match="must start and end with an alphanumeric"):
        parse_selector("x>-1")  # an integer, but not a valid label value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a,", "found '', expected: identifier after ','"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        (
            "x>a",
            'unable to parse requirement: values[0]: Invalid value: "a": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "a/b/c=d",
            'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name '
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
            "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional "
            "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_selector(text)
    assert str(exc.value) == message


def test_invalid_value_error_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"values\[0\]\[a\]: Invalid value: \"b@c\""):
        parse_selector("a=b@c")


def test_exact_values() -> None:
    sel = parse_selector("app in (web,db),app!=db,tier=fe")
    assert sel.exact_values("app") == {"web", "db"}
    assert sel.exact_values("tier") == {"fe"}
    assert sel.exact_values("other") is None
    assert parse_selector("a in (x,y),a in (y,z)").exact_values("a") == {"y"}
    assert parse_selector("a notin (x)").exact_values("a") is None


def test_empty_and_nothing() -> None:
    assert Selector().empty and Selector.everything().matches({})
    nothing = selector_from_label_selector(None)
    assert not nothing.empty and not nothing.matches({}) and not nothing.matches(LABELS)
    assert selector_from_label_selector({}).empty
    assert selector_from_set({}).empty
    assert selector_from_set({"app": "web"}).matches(LABELS)
    assert not selector_from_set({"app": "db"}).matches(LABELS)


def test_from_label_selector() -> None:
    sel = selector_from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "version", "operator": "Exists"},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert sel.matches(LABELS)
    assert not sel.matches({**LABELS, "canary": "yes"})
    assert str(sel) == "app=web,!canary,env notin (dev),tier in (edge,frontend),version"
    with pytest.raises(ValueError, match='"Gt" is not a valid label selector operator'):
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "Gt"}]})
    with pytest.raises(ValueError, match="values set can't be empty"):
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]})


def test_validate_label_selector() -> None:
    errs = validate_label_selector(
        {
            "matchLabels": {"-bad": "ok"},
            "matchExpressions": [
                {"key": "a", "operator": "In"},
                {"key": "b", "operator": "Exists", "values": ["x"]},
                {"key": "c", "operator": "Near", "values": ["not valid!"]},
            ],
        },
        "spec.selector",
    )
    text = [str(e) for e in errs]
    assert text[0].startswith('spec.selector.matchLabels: Invalid value: "-bad": name part must')
    assert text[1:4] == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when "
        "`operator` is 'In' or 'NotIn'",
        "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when "
        "`operator` is 'Exists' or 'DoesNotExist'",
        'spec.selector.matchExpressions[2].operator: Invalid value: "Near": not a valid '
        "selector operator",
    ]
    assert text[4].startswith(
        'spec.selector.matchExpressions[2].values[0]: Invalid value: "not valid!": a valid label'
    )
    assert validate_label_selector(None, "spec.selector") == []


_KEY = st.from_regex(
    r"([a-z]{1,5}\.)?[a-z]{1,5}/[A-Za-z][-A-Za-z0-9_.]{0,6}[A-Za-z0-9]|[a-z]{1,8}", fullmatch=True
)
_VALUE = st.from_regex(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?)?", fullmatch=True)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(_KEY)
    op = draw(st.sampled_from([EQUALS, "==", "!=", IN, NOT_IN, EXISTS, DOES_NOT_EXIST, "gt", "lt"]))
    if op in (EXISTS, DOES_NOT_EXIST):
        return Requirement.new(key, op)
    if op in (IN, NOT_IN):
        values = sorted(set(draw(st.lists(_VALUE, min_size=1, max_size=4))))
        return Requirement.new(key, op, values)
    if op in ("gt", "lt"):
        return Requirement.new(key, op, [str(draw(st.integers(0, 1000)))])
    return Requirement.new(key, op, [draw(_VALUE)])


@given(st.lists(requirements(), max_size=6))
def test_string_form_round_trips(reqs: list[Requirement]) -> None:
    sel = Selector.of(reqs)
    again = parse_selector(str(sel))
    assert again == sel
    assert str(again) == str(sel)


@given(st.lists(requirements(), max_size=4), st.dictionaries(_KEY, _VALUE, max_size=4))
def test_parsed_selector_matches_like_the_original(
    reqs: list[Requirement], labels: dict[str, str]
) -> None:
    sel = Selector.of(reqs)
    assert parse_selector(str(sel)).matches(labels) == all(r.matches(labels) for r in reqs)
