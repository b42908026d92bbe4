"""Field selectors (``k8s.io/apimachinery/pkg/fields``).

``metadata.name=x,spec.nodeName!=,status.phase==Running``: terms joined by ``,``, each
``field=value``, ``field==value`` or ``field!=value``. In values, ``\\``, ``,`` and ``=`` are
escaped with a backslash. A missing field reads as ``""``, so ``spec.nodeName=`` selects
unscheduled pods. Parse errors raise ``ValueError`` with upstream's messages.

Which fields a kind supports is the kind's business (:attr:`kubemu.objects.kinds.Kind.field_names`);
:func:`unsupported_fields` gives upstream's ``field label not supported`` check.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "FieldSelector",
    "Term",
    "escape_value",
    "parse_field_selector",
    "unescape_value",
    "unsupported_fields",
]

_OPERATORS: Final = ("!=", "==", "=")


@dataclass(frozen=True, slots=True)
class Term:
    """``field = value`` (``equal=True``) or ``field != value``."""

    field: str
    value: str
    equal: bool = True

    def matches(self, fields: Mapping[str, str]) -> bool:
        return (fields.get(self.field, "") == self.value) == self.equal

    def __str__(self) -> str:
        return f"{self.field}{'=' if self.equal else '!='}{escape_value(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A conjunction of terms; ``FieldSelector()`` selects everything."""

    terms: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, fields: Mapping[str, str]) -> bool:
        for t in self.terms:
            if not t.matches(fields):
                return False
        return True

    def exact_value(self, field: str) -> str | None:
        """The value an ``=`` term requires of ``field`` (``RequiresExactMatch``), or None."""
        for t in self.terms:
            if t.equal and t.field == field:
                return t.value
        return None

    def fields(self) -> list[str]:
        """The field names the selector uses, in order."""
        return [t.field for t in self.terms]

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def _split_terms(selector: str) -> list[str]:
    """Split on unescaped commas, keeping the backslashes."""
    if not selector:
        return []
    terms, start, in_slash = [], 0, False
    for i, c in enumerate(selector):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """The first operator splits the term (no escaping on the left)."""
    for i in range(len(term)):
        for op in _OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(value: str) -> str:
    """Undo :func:`escape_value`; raises ``ValueError`` as upstream's ``UnescapeValue``."""
    if "\\" not in value and "," not in value and "=" not in value:
        return value
    out: list[str] = []
    in_slash = False
    for c in value:
        if in_slash:
            if c in "\\,=":
                out.append(c)
            else:
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{c}")
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            # Go prints the rune with %v: its code point.
            raise ValueError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(selector: str) -> FieldSelector:
    """``fields.ParseSelector``: terms are sorted, as upstream sorts them."""
    terms: list[Term] = []
    for part in sorted(_split_terms(selector)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise ValueError(f"invalid selector: '{selector}'; can't understand '{part}'")
        lhs, op, rhs = split
        terms.append(Term(lhs, unescape_value(rhs), op != "!="))
    return FieldSelector(tuple(terms))


def unsupported_fields(selector: FieldSelector, supported: Collection[str]) -> list[str]:
    """Upstream's message for each field the kind cannot select on (a BadRequest)."""
    return [f"field label not supported: {f}" for f in selector.fields() if f not in supported]
