"""Helpers shared by the kind modules: tolerant accessors and validators used by several kinds.

Objects arrive as decoded YAML/msgpack, so a field may hold the wrong type; the accessors treat
a wrong type as absent, and the typed getters report it as a field error instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final, TypeGuard

from kubemu.objects.errors import FieldError, invalid
from kubemu.objects.labels import Selector, selector_from_label_selector
from kubemu.objects.meta import IS_NEGATIVE
from kubemu.objects.names import is_valid_percent

__all__ = [
    "Obj",
    "as_list",
    "as_map",
    "dicts",
    "get_int",
    "int_or_percent_value",
    "is_int",
    "label_selector_or_none",
    "not_more_than_100_percent",
    "positive_int_or_percent",
    "selector_matches_template",
    "str_map",
]

Obj = dict[str, Any]

_EMPTY: Final[Mapping[str, Any]] = {}


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (read-only use)."""
    if type(value) is dict:  # the common case, without the ABC instance check
        return value
    return value if isinstance(value, Mapping) else _EMPTY


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> Iterator[tuple[int, Obj]]:
    """``enumerate`` over the dict items of a list (other items are skipped)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if type(item) is dict or isinstance(item, dict):
                yield i, item


def str_map(value: Any) -> dict[str, str]:
    """A map of strings (labels, selectors); other entries dropped."""
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def get_int(obj: Mapping[str, Any], key: str, path: str, errs: list[FieldError]) -> int | None:
    """An integer field: ``None`` when absent; a non-integer is reported and read as absent."""
    value = obj.get(key)
    if value is None:
        return None
    if not is_int(value):
        errs.append(invalid(f"{path}.{key}", value, "must be an integer"))
        return None
    return int(value)


def positive_int_or_percent(value: Any, path: str) -> list[FieldError]:
    """``ValidatePositiveIntOrPercent`` (an int ≥ 0, or ``"<n>%"``)."""
    if isinstance(value, str):
        return [invalid(path, value, msg) for msg in is_valid_percent(value)]
    if is_int(value):
        return [invalid(path, value, IS_NEGATIVE)] if value < 0 else []
    return [invalid(path, value, "must be an integer or percentage (e.g '5%')")]


def int_or_percent_value(value: Any) -> int:
    """``getIntOrPercentValue``: the number of an int or of a valid percent, else 0."""
    if isinstance(value, str):
        if is_valid_percent(value):
            return 0
        return int(value[:-1])
    return int(value) if is_int(value) else 0


def not_more_than_100_percent(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str) and not is_valid_percent(value) and int(value[:-1]) > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def label_selector_or_none(value: Any) -> Selector | None:
    """The selector of a ``LabelSelector`` dict, or None if it does not convert."""
    try:
        return selector_from_label_selector(value)
    except (ValueError, AttributeError, TypeError):
        return None


def selector_matches_template(
    selector: Selector | None, template: Mapping[str, Any], path: str
) -> list[FieldError]:
    """`` `selector` does not match template `labels` `` at ``<path>.metadata.labels``."""
    if selector is None or selector.empty:
        return []
    labels = str_map(as_map(template.get("metadata")).get("labels"))
    if not selector.matches(labels):
        return [
            invalid(
                f"{path}.metadata.labels", labels, "`selector` does not match template `labels`"
            )
        ]
    return []
