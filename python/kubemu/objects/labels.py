"""Label selectors (``k8s.io/apimachinery/pkg/labels`` and ``meta/v1`` ``LabelSelector``).

* :func:`parse_selector` parses the string form (``a=b,c!=d,e in (x,y),f notin (z),g,!h,i>1``)
  with upstream's grammar and error messages; errors raise ``ValueError``.
* :func:`selector_from_label_selector` converts a ``LabelSelector`` dict (``matchLabels`` and
  ``matchExpressions``) as ``metav1.LabelSelectorAsSelector`` does: ``None`` selects nothing, an
  empty selector selects everything.
* :func:`validate_label_selector` gives a ``LabelSelector``'s field errors.

A :class:`Selector` is immutable; its requirements are sorted by key, and ``str()`` is the
canonical string form (``parse_selector(str(s)) == s``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kubemu.objects.errors import (
    FieldError,
    aggregate_message,
    forbidden,
    invalid,
    not_supported,
    required,
)
from kubemu.objects.names import label_value_errors, qualified_name_errors

__all__ = [
    "DOES_NOT_EXIST",
    "DOUBLE_EQUALS",
    "EQUALS",
    "EXISTS",
    "GREATER_THAN",
    "IN",
    "LESS_THAN",
    "NOT_EQUALS",
    "NOT_IN",
    "Requirement",
    "Selector",
    "parse_selector",
    "selector_from_label_selector",
    "selector_from_set",
    "validate_label_selector",
    "validate_labels",
]

# selection.Operator values
DOES_NOT_EXIST: Final = "!"
EQUALS: Final = "="
DOUBLE_EQUALS: Final = "=="
IN: Final = "in"
NOT_EQUALS: Final = "!="
NOT_IN: Final = "notin"
EXISTS: Final = "exists"
GREATER_THAN: Final = "gt"
LESS_THAN: Final = "lt"

_VALID_OPERATORS: Final = (
    IN,
    NOT_IN,
    EQUALS,
    DOUBLE_EQUALS,
    NOT_EQUALS,
    EXISTS,
    DOES_NOT_EXIST,
    GREATER_THAN,
    LESS_THAN,
)
_BINARY_OPERATORS: Final = "in, notin, =, ==, !=, gt, lt"
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def _go_int(s: str) -> int | None:
    """``strconv.ParseInt(s, 10, 64)``: an optional sign and ASCII digits, in int64 range."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if not body or not body.isascii() or not body.isdigit():
        return None
    value = int(s)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _child(root: str | None, name: str) -> str:
    """``field.Path.Child`` of an optional root path."""
    return name if root is None else f"{root}.{name}"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key <op> values`` term of a selector."""

    key: str
    operator: str
    values: tuple[str, ...] = ()
    _set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_set", frozenset(self.values))

    @classmethod
    def new(
        cls, key: str, operator: str, values: Iterable[str] = (), path: str | None = None
    ) -> Requirement:
        """``labels.NewRequirement``: validate, then build; raises ``ValueError``."""
        vals = tuple(values)
        errs = _requirement_errors(key, operator, vals, path)
        if errs:
            raise ValueError(aggregate_message(errs))
        return cls(key, operator, vals)

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            value = labels.get(self.key)
            return value is not None and value in self._set
        if op in (NOT_IN, NOT_EQUALS):
            value = labels.get(self.key)
            return value is None or value not in self._set
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            value = labels.get(self.key)
            if value is None or len(self.values) != 1:
                return False
            have, want = _go_int(value), _go_int(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{values}"


def _requirement_errors(
    key: str, op: str, vals: Sequence[str], path: str | None
) -> list[FieldError]:
    errs: list[FieldError] = []
    key_msgs = qualified_name_errors(key)
    if key_msgs:
        errs.append(invalid(_child(path, "key"), key, "; ".join(key_msgs)))
    values_path = _child(path, "values")
    if op in (IN, NOT_IN):
        if not vals:
            errs.append(
                invalid(
                    values_path,
                    list(vals),
                    "for 'in', 'notin' operators, values set can't be empty",
                )
            )
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(
                invalid(
                    values_path, list(vals), "exact-match compatibility requires one single value"
                )
            )
    elif op in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(
                invalid(
                    values_path,
                    list(vals),
                    "values set must be empty for exists and does not exist",
                )
            )
    elif op in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(
                invalid(
                    values_path,
                    list(vals),
                    "for 'Gt', 'Lt' operators, exactly one value is required",
                )
            )
        for i, v in enumerate(vals):
            if _go_int(v) is None:
                errs.append(
                    invalid(
                        f"{values_path}[{i}]",
                        v,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    )
                )
    else:
        errs.append(not_supported(_child(path, "operator"), op, _VALID_OPERATORS))
    for i, v in enumerate(vals):
        msgs = label_value_errors(v)
        if msgs:
            errs.append(invalid(f"{values_path}[{i}][{key}]", v, "; ".join(msgs)))
    return errs


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements. ``Selector()`` selects everything."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False
    """True for the selector that matches nothing (a ``None`` ``LabelSelector``)."""

    @classmethod
    def everything(cls) -> Selector:
        return _EVERYTHING

    @classmethod
    def match_nothing(cls) -> Selector:
        return _NOTHING

    @classmethod
    def of(cls, requirements: Iterable[Requirement]) -> Selector:
        return cls(tuple(sorted(requirements, key=lambda r: r.key)))

    @property
    def empty(self) -> bool:
        """True when the selector has no requirements (it selects everything)."""
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        if labels is None:
            labels = {}
        for r in self.requirements:
            if not r.matches(labels):
                return False
        return True

    def exact_values(self, key: str) -> set[str] | None:
        """The values ``key`` must have for a match (``=``, ``==``, ``in``), or ``None``.

        Several such requirements on one key intersect. An indexer can look these values up
        instead of scanning.
        """
        result: set[str] | None = None
        for r in self.requirements:
            if r.key == key and r.operator in (EQUALS, DOUBLE_EQUALS, IN):
                result = set(r.values) if result is None else result & set(r.values)
        return result

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


_EVERYTHING: Final = Selector()
_NOTHING: Final = Selector((), True)


# The string form: upstream's lexer and parser.

_TOKENS: Final = {
    ")": "ClosedPar",
    ",": "Comma",
    "!": "DoesNotExist",
    "==": "DoubleEquals",
    "=": "Equals",
    ">": "GreaterThan",
    "in": "In",
    "<": "LessThan",
    "!=": "NotEquals",
    "notin": "NotIn",
    "(": "OpenPar",
}
_SPECIAL: Final = frozenset("=!(),><")
_WHITESPACE: Final = frozenset(" \t\r\n")
_IDENT: Final = "Identifier"
_END: Final = "EndOfString"
_ERROR: Final = "Error"


def _lex(s: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i] in _WHITESPACE:
            i += 1
        if i >= n or s[i] == "\0":
            items.append((_END, ""))
            return items
        if s[i] in _SPECIAL:
            buf = ""
            last: tuple[str, str] | None = None
            while i < n and s[i] in _SPECIAL:
                candidate = buf + s[i]
                if candidate in _TOKENS:
                    buf = candidate
                    last = (_TOKENS[candidate], candidate)
                    i += 1
                elif last is not None:
                    break
                else:
                    buf = candidate
                    i += 1
            if last is None:
                items.append((_ERROR, f"error expected: keyword found '{buf}'"))
            else:
                items.append(last)
        else:
            start = i
            while i < n and s[i] not in _SPECIAL and s[i] not in _WHITESPACE and s[i] != "\0":
                i += 1
            word = s[start:i]
            items.append((_TOKENS.get(word, _IDENT), word))


class _Parser:
    def __init__(self, s: str) -> None:
        self.items = _lex(s)
        self.pos = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.items[self.pos]
        if values and tok in ("In", "NotIn"):
            tok = _IDENT
        return tok, lit

    def consume(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.lookahead(values)
        self.pos += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_IDENT, "DoesNotExist"):
                try:
                    reqs.append(self.requirement())
                except ValueError as e:
                    raise ValueError(f"unable to parse requirement: {e}") from None
                tok, lit = self.consume()
                if tok == _END:
                    return reqs
                if tok == "Comma":
                    tok2, lit2 = self.lookahead()
                    if tok2 not in (_IDENT, "DoesNotExist"):
                        raise ValueError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            elif tok == _END:
                return reqs
            else:
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        op: str | None = None
        tok, lit = self.consume()
        if tok == "DoesNotExist":
            op = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != _IDENT:
            raise ValueError(f"found '{lit}', expected: identifier")
        key = lit
        key_msgs = qualified_name_errors(key)
        if key_msgs:
            raise ValueError(str(invalid("<nil>", key, "; ".join(key_msgs))))
        if self.lookahead()[0] in (_END, "Comma") and op is None:
            op = EXISTS
        if op in (EXISTS, DOES_NOT_EXIST):
            return Requirement.new(key, op)
        tok, lit = self.consume(values=False)
        ops = {
            "In": IN,
            "NotIn": NOT_IN,
            "Equals": EQUALS,
            "DoubleEquals": DOUBLE_EQUALS,
            "NotEquals": NOT_EQUALS,
            "GreaterThan": GREATER_THAN,
            "LessThan": LESS_THAN,
        }
        if tok not in ops:
            raise ValueError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        op = ops[tok]
        values = self.set_values() if op in (IN, NOT_IN) else self.exact_value()
        return Requirement.new(key, op, sorted(values))

    def set_values(self) -> set[str]:
        tok, lit = self.consume()
        if tok != "OpenPar":
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_IDENT, "Comma"):
            values = self.identifiers()
            if self.consume()[0] != "ClosedPar":
                raise ValueError(f"found '{lit}', expected: ')'")
            return values
        if tok == "ClosedPar":
            self.consume()
            return {""}
        raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == "Comma":
                    continue
                if tok2 == "ClosedPar":
                    return values
                raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            if tok == "Comma":
                if not values:
                    values.add("")
                tok2, _ = self.lookahead()
                if tok2 == "ClosedPar":
                    values.add("")
                    return values
                if tok2 == "Comma":
                    self.consume()
                    values.add("")
            else:
                raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_END, "Comma"):
            return {""}
        tok, lit = self.consume()
        if tok == _IDENT:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def parse_selector(s: str) -> Selector:
    """``labels.Parse``: the string form to a :class:`Selector`; raises ``ValueError``."""
    return Selector.of(_Parser(s).parse())


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """``labels.SelectorFromSet`` (e.g. a Service's or RC's selector map); invalid → ValueError."""
    if not labels:
        return _EVERYTHING
    return Selector.of(Requirement.new(k, EQUALS, (v,)) for k, v in labels.items())


_LABEL_SELECTOR_OPS: Final = {
    "In": IN,
    "NotIn": NOT_IN,
    "Exists": EXISTS,
    "DoesNotExist": DOES_NOT_EXIST,
}


def selector_from_label_selector(ls: Mapping[str, Any] | None) -> Selector:
    """``metav1.LabelSelectorAsSelector``; raises ``ValueError`` for an invalid selector."""
    if ls is None:
        return _NOTHING
    match_labels = ls.get("matchLabels") or {}
    expressions = ls.get("matchExpressions") or []
    if not match_labels and not expressions:
        return _EVERYTHING
    reqs = [Requirement.new(k, EQUALS, (v,)) for k, v in match_labels.items()]
    for expr in expressions:
        operator = expr.get("operator", "")
        op = _LABEL_SELECTOR_OPS.get(operator)
        if op is None:
            raise ValueError(f'"{operator}" is not a valid label selector operator')
        reqs.append(Requirement.new(expr.get("key", ""), op, expr.get("values") or ()))
    return Selector.of(reqs)


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    """``ValidateLabels``: keys are qualified names, values valid label values."""
    errs: list[FieldError] = []
    if labels is None:
        return errs
    if not isinstance(labels, Mapping):
        return [invalid(path, labels, "must be a map of string keys to string values")]
    for k, v in labels.items():
        if not isinstance(k, str) or not isinstance(v, str):
            errs.append(invalid(path, v, "must be a map of string keys to string values"))
            continue
        for msg in qualified_name_errors(k):
            errs.append(invalid(path, k, msg))
        for msg in label_value_errors(v):
            errs.append(invalid(path, v, msg))
    return errs


def validate_label_selector(ls: Any, path: str) -> list[FieldError]:
    """``ValidateLabelSelector`` (label values checked, as for new objects)."""
    errs: list[FieldError] = []
    if ls is None:
        return errs
    if not isinstance(ls, Mapping):
        return [invalid(path, ls, "must be a label selector object")]
    errs.extend(validate_labels(ls.get("matchLabels"), f"{path}.matchLabels"))
    for i, expr in enumerate(ls.get("matchExpressions") or []):
        p = f"{path}.matchExpressions[{i}]"
        if not isinstance(expr, Mapping):
            errs.append(invalid(p, expr, "must be a label selector requirement"))
            continue
        op = expr.get("operator", "")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.append(
                    required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        f"{p}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        key = expr.get("key", "")
        for msg in qualified_name_errors(key if isinstance(key, str) else ""):
            errs.append(invalid(f"{p}.key", key, msg))
        for j, v in enumerate(values):
            for msg in label_value_errors(v if isinstance(v, str) else "\0"):
                errs.append(invalid(f"{p}.values[{j}]", v, msg))
    return errs
