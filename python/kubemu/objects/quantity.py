"""Kubernetes ``resource.Quantity``: parse, exact arithmetic, canonical strings.

A quantity is held as an exact integer count of nano-units (parsing rounds up to 1n, away from
zero, as upstream does), so sums and comparisons are exact. ``str(q)`` / :meth:`Quantity.canonical`
is upstream's ``String()``: the canonical form, except that a parsed string that upstream keeps
verbatim (it was already canonical up to sign or exponent spelling, e.g. ``"+1k"``, ``"1E3"``) is
returned as given, as ``String()`` and ``MarshalJSON`` do.

Parsed strings are cached (``functools.lru_cache``): admission sums the same few request strings
over and over.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

__all__ = [
    "BINARY_SI",
    "DECIMAL_EXPONENT",
    "DECIMAL_SI",
    "ERR_FORMAT_WRONG",
    "ERR_NUMERIC",
    "ERR_SUFFIX",
    "Quantity",
    "parse_quantity",
]

DECIMAL_EXPONENT: Final = "DecimalExponent"
BINARY_SI: Final = "BinarySI"
DECIMAL_SI: Final = "DecimalSI"

_SPLIT_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG: Final = f"quantities must match the regular expression '{_SPLIT_RE}'"
ERR_NUMERIC: Final = "unable to parse numeric part of quantity"
ERR_SUFFIX: Final = "unable to parse quantity's suffix"

# The grammar of upstream's scanner (parseQuantityString), anchored at both ends.
_SCAN = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")

_DEC_SUFFIXES: Final = {
    "": 0,
    "n": -9,
    "u": -6,
    "m": -3,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_DEC_BY_EXP: Final = {v: k for k, v in _DEC_SUFFIXES.items()}
_BIN_SUFFIXES: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BIN_BY_EXP: Final = {v: k for k, v in _BIN_SUFFIXES.items()}
_NANO: Final = 10**9
_MAX_INT64: Final = 2**63 - 1
_MAX_INT32: Final = 2**31 - 1
# Beyond upstream's range checks, exponents this large would build gigantic Python integers.
_MAX_POSITIVE_EXPONENT: Final = 10_000


def _ceil_div(a: int, b: int) -> int:
    """``a / b`` rounded away from zero (``b > 0``)."""
    q, r = divmod(abs(a), b)
    if r:
        q += 1
    return q if a >= 0 else -q


class Quantity:
    """An immutable, exact resource quantity."""

    __slots__ = ("_format", "_nanos", "_s")

    _nanos: int
    _s: str | None
    _format: str

    def __init__(self, nanos: int = 0, format: str = DECIMAL_SI, s: str | None = None) -> None:
        self._nanos = nanos
        self._format = format
        self._s = s

    @property
    def format(self) -> str:
        """``DecimalSI``, ``BinarySI`` or ``DecimalExponent``: how the canonical string is spelt."""
        return self._format

    # Construction

    @staticmethod
    def parse(value: str | int | float) -> Quantity:
        """Parse a quantity string (or a JSON/YAML number); raises ``ValueError``."""
        return parse_quantity(value)

    @classmethod
    def from_int(cls, value: int, format: str = DECIMAL_SI) -> Quantity:
        return cls(value * _NANO, format)

    @classmethod
    def from_milli(cls, value: int, format: str = DECIMAL_SI) -> Quantity:
        return cls(value * 1_000_000, format)

    @classmethod
    def from_nanos(cls, value: int, format: str = DECIMAL_SI) -> Quantity:
        return cls(value, format)

    # Values

    @property
    def nanos(self) -> int:
        """The exact value in units of 10^-9."""
        return self._nanos

    def value(self) -> int:
        """The value rounded up (away from zero) to an integer, as upstream's ``Value()``."""
        return _ceil_div(self._nanos, _NANO)

    def milli_value(self) -> int:
        """The value in thousandths, rounded up (away from zero): ``MilliValue()``."""
        return _ceil_div(self._nanos, 1_000_000)

    def scaled_value(self, scale: int) -> int:
        """The value in units of 10^scale, rounded up (away from zero): ``ScaledValue()``."""
        exp = scale + 9
        if exp <= 0:
            factor: int = 10 ** (-exp)
            return self._nanos * factor
        return _ceil_div(self._nanos, 10**exp)

    def is_zero(self) -> bool:
        return self._nanos == 0

    def sign(self) -> int:
        return (self._nanos > 0) - (self._nanos < 0)

    # Arithmetic (new objects; the format follows the left operand unless it is zero)

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self._nanos == 0 else self.format
        return Quantity(self._nanos + other._nanos, fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self._nanos == 0 else self.format
        return Quantity(self._nanos - other._nanos, fmt)

    def __neg__(self) -> Quantity:
        return Quantity(-self._nanos, self.format)

    def __mul__(self, factor: int) -> Quantity:
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Quantity(self._nanos * factor, self.format)

    __rmul__ = __mul__

    # Comparison (by value, as upstream's Cmp/Equal)

    def cmp(self, other: Quantity) -> int:
        return (self._nanos > other._nanos) - (self._nanos < other._nanos)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos == other._nanos

    def __hash__(self) -> int:
        return hash(self._nanos)

    def __lt__(self, other: Quantity) -> bool:
        return self._nanos < other._nanos

    def __le__(self, other: Quantity) -> bool:
        return self._nanos <= other._nanos

    def __gt__(self, other: Quantity) -> bool:
        return self._nanos > other._nanos

    def __ge__(self, other: Quantity) -> bool:
        return self._nanos >= other._nanos

    def __bool__(self) -> bool:
        return self._nanos != 0

    # Strings

    def canonical(self) -> str:
        """Upstream's ``String()`` (see the module docstring)."""
        s = self._s
        if s is None:
            s = self._s = _canonicalize(self._nanos, self.format)
        return s

    __str__ = canonical

    def __repr__(self) -> str:
        return f"Quantity({self.canonical()!r})"


def _canonicalize(nanos: int, fmt: str) -> str:
    if nanos == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 * _NANO < nanos < 1024 * _NANO or nanos % _NANO:
            fmt = DECIMAL_SI
        else:
            units = nanos // _NANO
            exp = 0
            while units % 1024 == 0:
                units //= 1024
                exp += 1
            if exp == 0:
                return str(units)
            if exp * 10 in _BIN_BY_EXP:
                return f"{units}{_BIN_BY_EXP[exp * 10]}"
            fmt = DECIMAL_SI  # past "Ei": an exact decimal form (upstream's fallback)
    mantissa, exponent = nanos, -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    shift = exponent % 3  # bring the exponent down to a multiple of 3
    if shift:
        mantissa *= 10**shift
        exponent -= shift
    if fmt == DECIMAL_SI and exponent in _DEC_BY_EXP:
        return f"{mantissa}{_DEC_BY_EXP[exponent]}"
    if exponent == 0:
        return str(mantissa)
    return f"{mantissa}e{exponent}"


def parse_quantity(value: str | int | float) -> Quantity:
    """Parse a quantity as ``resource.ParseQuantity``; raises ``ValueError`` with its messages.

    JSON/YAML numbers are accepted (upstream's decoder accepts unquoted numbers too).
    """
    if isinstance(value, bool):
        raise ValueError(ERR_FORMAT_WRONG)
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, float):
        value = repr(value)
    elif not isinstance(value, str):
        raise ValueError(ERR_FORMAT_WRONG)
    return _parse(value)


@lru_cache(maxsize=4096)
def _parse(s: str) -> Quantity:
    if not s:
        raise ValueError(ERR_FORMAT_WRONG)
    if s == "0":
        return Quantity(0, DECIMAL_SI, "0")
    m = _SCAN.fullmatch(s)
    if m is None:
        raise ValueError(ERR_FORMAT_WRONG)
    sign, whole, frac, suffix = m.groups()
    frac = frac or ""
    negative = sign == "-"

    # Interpret the suffix.
    if suffix in _DEC_SUFFIXES:
        base, exponent, fmt = 10, _DEC_SUFFIXES[suffix], DECIMAL_SI
    elif suffix in _BIN_SUFFIXES:
        base, exponent, fmt = 2, _BIN_SUFFIXES[suffix], BINARY_SI
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[-+]?[0-9]+", suffix[1:]):
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_INT32:
            raise ValueError(ERR_SUFFIX)
        base, fmt = 10, DECIMAL_EXPONENT
    else:
        raise ValueError(ERR_SUFFIX)

    num = whole.lstrip("0") or "0"
    digits = int(num + frac) if (num + frac) else 0
    cached: str | None = None

    # Upstream's fast path keeps the input string when it is already canonical.
    if base == 10:
        scale = exponent - len(frac)
        if 18 - (len(num) + len(frac)) >= 0 and scale >= -9:
            shifted = num + frac
            if scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0":
                cached = s
        if exponent > _MAX_POSITIVE_EXPONENT:
            raise ValueError(ERR_NUMERIC)
        # nanos = digits * 10^(scale + 9), rounded up (away from zero) below 1n.
        e9 = scale + 9
        if e9 >= 0:
            nanos = digits * 10**e9
        elif -e9 > len(str(digits)):
            nanos = 1 if digits else 0  # below 1n: rounds up to 1n
        else:
            nanos = _ceil_div(digits, 10**-e9)
    else:
        if not frac:
            k = int(exponent * 3 / 10)
            if 15 - len(num) - k - 1 >= 0 and (digits << exponent) <= _MAX_INT64:
                if digits & 0x07:
                    cached = s
        # digits * 2^exp / 10^len(frac) units, in nanos, rounded up below 1n.
        nanos = _ceil_div((digits << exponent) * _NANO, 10 ** len(frac))
        if nanos > _MAX_INT64 * _NANO:
            nanos = _MAX_INT64 * _NANO
            cached = None
        if 0 < nanos < _NANO:
            fmt = DECIMAL_SI
    if negative:
        nanos = -nanos
    return Quantity(nanos, fmt, cached)
