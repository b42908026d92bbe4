"""A watch stream's filter: namespace, label and field selectors, node names.

:class:`WatchFilter` is applied to the namespace, labels and selectable fields of an object's
state; :func:`compile_filter` specialises it for the common shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubemu.objects.fields import FieldSelector
from kubemu.objects.labels import Selector

__all__ = ["Match", "WatchFilter", "compile_filter"]


@dataclass(frozen=True, slots=True)
class WatchFilter:
    namespace: str = ""
    labels: Selector = field(default_factory=Selector.everything)
    fields: FieldSelector = field(default_factory=FieldSelector)
    node_names: frozenset[str] | None = None

    @property
    def trivial(self) -> bool:
        """Passes or fails the same for every state of one object (namespace never changes)."""
        return self.labels.empty and self.fields.empty and self.node_names is None

    def matches(self, namespace: str, labels: Any, fields: dict[str, str]) -> bool:
        if self.namespace and namespace != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(
            labels if isinstance(labels, dict) else {}
        ):
            return False
        if not self.fields.empty and not self.fields.matches(fields):
            return False
        return self.node_names is None or fields.get("spec.nodeName", "") in self.node_names

    def index_keys(self) -> list[tuple[str, str]]:
        if self.node_names is not None:
            return [("spec.nodeName", n) for n in self.node_names]
        for t in self.fields.terms:
            if t.equal:
                return [(t.field, t.value)]
        if self.namespace:
            return [("metadata.namespace", self.namespace)]
        return []


Match = Callable[[str, Any, dict[str, str]], bool]


def _everything(namespace: str, labels: Any, fields: dict[str, str]) -> bool:
    return True


def compile_filter(flt: WatchFilter) -> Match:
    """``flt.matches`` specialised for the common shapes (one namespace, one ``field=value``
    term, ``node_names``): the hub calls it once per event and stream."""
    ns = flt.namespace
    if not flt.labels.empty or len(flt.fields.terms) > 1:
        return flt.matches
    if flt.node_names is not None:
        if flt.fields.terms:
            return flt.matches
        names = flt.node_names
        if ns:
            return lambda n, lb, f: n == ns and f.get("spec.nodeName", "") in names
        return lambda n, lb, f: f.get("spec.nodeName", "") in names
    if flt.fields.terms:
        t = flt.fields.terms[0]
        name, value, equal = t.field, t.value, t.equal
        if ns:
            return lambda n, lb, f: n == ns and (f.get(name, "") == value) == equal
        return lambda n, lb, f: (f.get(name, "") == value) == equal
    if ns:
        return lambda n, lb, f: n == ns
    return _everything
