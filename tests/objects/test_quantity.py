"""resource.Quantity: upstream's parse, canonical-string and rounding tables."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubemu.objects.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    ERR_FORMAT_WRONG,
    ERR_SUFFIX,
    Quantity,
    parse_quantity,
)


def nanos(value: Fraction | int) -> int:
    return int(Fraction(value) * 10**9)


@pytest.mark.parametrize(
    ("text", "value", "fmt"),
    [
        ("0", 0, DECIMAL_SI),
        ("0Ki", 0, BINARY_SI),
        ("1Ki", 1024, BINARY_SI),
        ("7Mi", 7 * 2**20, BINARY_SI),
        ("3Ei", 3 * 2**60, BINARY_SI),
        ("5n", Fraction(5, 10**9), DECIMAL_SI),
        ("4u", Fraction(4, 10**6), DECIMAL_SI),
        ("3m", Fraction(3, 1000), DECIMAL_SI),
        ("50k", 50_000, DECIMAL_SI),
        ("1E", 10**18, DECIMAL_SI),
        ("1E-3", Fraction(1, 1000), DECIMAL_EXPONENT),
        ("1.3E+6", 1_300_000, DECIMAL_EXPONENT),
        ("100.035k", 100_035, DECIMAL_SI),
        ("0.0005k", Fraction(1, 2), DECIMAL_SI),
        ("0.5e-2", Fraction(5, 1000), DECIMAL_EXPONENT),
        ("6.987654321G", 6_987_654_321, DECIMAL_SI),
        # Values below 1n round up, away from zero.
        ("3.001n", Fraction(4, 10**9), DECIMAL_SI),
        ("0.00000012345", Fraction(124, 10**9), DECIMAL_SI),
        ("0.5e-9", Fraction(1, 10**9), DECIMAL_EXPONENT),
        # BinarySI saturates at 2^63-1; a fraction of a unit becomes DecimalSI.
        ("9Ei", 2**63 - 1, BINARY_SI),
        ("0.000000000001Ki", Fraction(2, 10**9), DECIMAL_SI),
        ("100.035Ki", Fraction(10243584, 100), BINARY_SI),
        # Written by trolls, accepted by upstream.
        (".001", Fraction(1, 1000), DECIMAL_SI),
        ("1.", 1, DECIMAL_SI),
        ("1.G", 10**9, DECIMAL_SI),
        ("-1.5", Fraction(-3, 2), DECIMAL_SI),
        ("+1k", 1000, DECIMAL_SI),
    ],
)
def test_parse(text: str, value: Fraction | int, fmt: str) -> None:
    q = parse_quantity(text)
    assert q.nanos == nanos(value)
    assert q.format == fmt


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ERR_FORMAT_WRONG),
        ("1.1.M", ERR_FORMAT_WRONG),
        ("1+1.0M", ERR_FORMAT_WRONG),
        ("aoeu", ERR_FORMAT_WRONG),
        (" 1", ERR_FORMAT_WRONG),
        ("1 ", ERR_FORMAT_WRONG),
        ("0.1mi", ERR_SUFFIX),
        ("0.1am", ERR_FORMAT_WRONG),
        (".5i", ERR_SUFFIX),
        ("-3.01e-", ERR_SUFFIX),
        ("1ki", ERR_SUFFIX),
        ("1e4294967297", ERR_SUFFIX),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_quantity(text)
    assert str(exc.value) == message


def test_format_error_message_is_upstreams() -> None:
    assert ERR_FORMAT_WRONG == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1000m", "1"),
        ("1536Mi", "1536Mi"),
        ("0.5", "500m"),
        ("1000", "1k"),
        ("1e3", "1e3"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        ("1.5Gi", "1536Mi"),
        ("1.5Mi", "1536Ki"),
        ("1.5Ki", "1536"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("100n", "100n"),
        ("1080000000n", "1080m"),
        ("307200Ki", "300Mi"),
        ("1025Ki", "1025Ki"),
        ("1000E", "1e21"),
        ("0.001T", "1G"),
        (".001e12", "1e9"),
        ("1000e-12", "1e-9"),
        ("1.2e3", "1200"),
        # Strings upstream keeps verbatim because they were already canonical.
        ("+1k", "+1k"),
        ("1E3", "1E3"),
        ("1.200k", "1.200k"),
    ],
)
def test_canonical(text: str, canonical: str) -> None:
    assert parse_quantity(text).canonical() == canonical
    assert str(parse_quantity(text)) == canonical


@pytest.mark.parametrize(
    ("value", "fmt", "canonical"),
    [
        (nanos(2**30), BINARY_SI, "1Gi"),
        (nanos(5), BINARY_SI, "5"),
        (nanos(Fraction(1, 2)), BINARY_SI, "500m"),
        (nanos(1234567 * 10**6), DECIMAL_SI, "1234567M"),
        (nanos(3000), DECIMAL_EXPONENT, "3e3"),
        (nanos(Fraction(80, 1000)), DECIMAL_EXPONENT, "80e-3"),
        (nanos(-Fraction(901, 100)), DECIMAL_SI, "-9010m"),
        (nanos(10**70), BINARY_SI, "10e69"),
        (nanos(2**70), BINARY_SI, "1180591620717411303424"),
        (0, BINARY_SI, "0"),
    ],
)
def test_canonical_of_constructed_values(value: int, fmt: str, canonical: str) -> None:
    assert Quantity.from_nanos(value, fmt).canonical() == canonical


def test_value_and_milli_value_round_up_away_from_zero() -> None:
    assert parse_quantity("500m").value() == 1
    assert parse_quantity("1").milli_value() == 1000
    assert parse_quantity("1n").milli_value() == 1
    assert parse_quantity("1.5").value() == 2
    assert parse_quantity("-1.5").value() == -2
    assert parse_quantity("1Gi").value() == 2**30
    assert parse_quantity("100m").scaled_value(-6) == 100_000
    assert parse_quantity("9.01").scaled_value(-1) == 91


def test_arithmetic_and_comparison() -> None:
    total = Quantity()
    for s in ("100m", "250m", "0.65"):
        total = total + parse_quantity(s)
    assert total == parse_quantity("1")
    assert total.canonical() == "1"
    assert parse_quantity("10000T") > parse_quantity("100Gi")
    assert parse_quantity("1Gi") - parse_quantity("512Mi") == parse_quantity("512Mi")
    assert (parse_quantity("1Gi") - parse_quantity("512Mi")).canonical() == "512Mi"
    assert (Quantity() + parse_quantity("1Gi")).format == BINARY_SI
    assert parse_quantity("100m") * 3 == parse_quantity("300m")
    assert parse_quantity("50m").cmp(parse_quantity("100m")) == -1
    assert -parse_quantity("1k") == parse_quantity("-1000")
    assert sorted([parse_quantity("1"), parse_quantity("1m"), parse_quantity("1k")]) == [
        parse_quantity("1m"),
        parse_quantity("1"),
        parse_quantity("1k"),
    ]
    assert len({parse_quantity("1"), parse_quantity("1000m")}) == 1


def test_yaml_numbers_are_accepted() -> None:
    assert parse_quantity(2).canonical() == "2"
    assert parse_quantity(0.5).canonical() == "500m"
    assert parse_quantity(1e-05).nanos == 10_000
    with pytest.raises(ValueError):
        parse_quantity(True)


_SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]


@st.composite
def quantity_strings(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.integers(0, 10**12))
    frac = draw(st.one_of(st.just(""), st.from_regex(r"[0-9]{1,6}", fullmatch=True)))
    number = f"{whole}.{frac}" if frac else str(whole)
    suffix = draw(
        st.one_of(
            st.sampled_from(_SUFFIXES),
            st.integers(-12, 20).map(lambda e: f"e{e}"),
        )
    )
    return sign + number + suffix


@given(quantity_strings())
def test_canonical_round_trips(text: str) -> None:
    q = parse_quantity(text)
    canonical = q.canonical()
    again = parse_quantity(canonical)
    assert again == q
    assert again.canonical() == canonical


@given(st.lists(quantity_strings(), min_size=1, max_size=8))
def test_sums_are_exact(texts: list[str]) -> None:
    total = Quantity()
    for t in texts:
        total = total + parse_quantity(t)
    assert total.nanos == sum(parse_quantity(t).nanos for t in texts)
    if abs(total.nanos) <= (2**63 - 1) * 10**9:  # beyond, a BinarySI string saturates
        assert parse_quantity(total.canonical()) == total
