"""Values as Go's ``fmt`` prints them in upstream's error texts (``%q``, ``%v``, ``%#v``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["go_quote", "go_value", "struct"]


def go_quote(s: str) -> str:
    """A string as Go's ``%q`` prints it."""
    if s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


class _Struct:
    """A structured value (an API struct, not a Go map) shown as compact JSON."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Struct) and other.value == self.value

    def __hash__(self) -> int:
        return hash(json.dumps(self.value, sort_keys=True, default=str))

    def __str__(self) -> str:
        return json.dumps(self.value, sort_keys=True, separators=(",", ":"), default=str)

    __repr__ = __str__


def struct(value: Any) -> Any:
    """Mark ``value`` as an API struct: error texts show it as JSON (upstream: Go's ``%#v``)."""
    return _Struct(value)


def go_value(value: Any) -> str:
    """A bad value as upstream's error text shows it.

    Strings are quoted (``%q``); numbers and booleans are bare; ``None`` is ``null``; a map of
    strings prints as Go's ``map[string]string{...}`` and a list of strings as ``[]string{...}``;
    objects with their own ``__str__`` (quantities) print bare, like Go's ``Stringer``. Other
    composite values print as compact JSON (upstream prints Go's ``%#v`` of the typed struct).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            items = ", ".join(f"{go_quote(k)}:{go_quote(value[k])}" for k in sorted(value))
            return "map[string]string{" + items + "}"
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)
