"""Selectable fields and labels of stored objects read from their msgpack, without decoding.

The watch hub needs, per store event, an object's namespace, its selectable fields
(``Kind.fields``) and, for label selectors, its labels. :class:`StateReader` gets them with one
:class:`kubemu._core.FieldPaths` lookup over the stored bytes, for the kinds whose field getter
it knows (every kind's ``metadata.name``/``metadata.namespace``; Pod's fields). Each rule
reproduces the Python getter on the decoded object exactly for the values it accepts (a str, a
missing key, a nil parent, ...); any other value (a non-str name, a parent that is not a map,
malformed bytes) makes :meth:`StateReader.read` return None and the caller decodes the object
instead, so the result is always ``Kind.fields(decode(data))``. Tests compare the two.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from kubemu._core import FieldPaths
from kubemu.apiserver.codec import decode_trusted
from kubemu.objects.kinds.base import Kind

__all__ = ["Found", "StateReader", "labels_of"]


Found = str | bytes | bool | None
"""What ``FieldPaths.find`` gives per path: a str value, None (absent), False (a parent is
not a container), else the value's msgpack."""

# Rules (applied in Rust, kubemu-objects' ``lookup::Rule``), each exact for what it accepts:
#   "get":      parent.get(key, "")      a str, or "" when absent
#   "or_empty": parent.get(key) or ""    a str, or "" when absent or nil
#   "is_true":  "true" if parent.get(key) is True else "false"
# where a parent that is absent or nil reads as {} (``as_map``, ``meta or {}``).
FieldRule = Literal["get", "or_empty", "is_true"]

_META: Final[tuple[tuple[str, tuple[str | int, ...], FieldRule], ...]] = (
    ("metadata.name", ("metadata", "name"), "get"),
    ("metadata.namespace", ("metadata", "namespace"), "get"),
)

_POD: Final[tuple[tuple[str, tuple[str | int, ...], FieldRule], ...]] = (
    ("spec.nodeName", ("spec", "nodeName"), "or_empty"),
    ("spec.restartPolicy", ("spec", "restartPolicy"), "or_empty"),
    ("spec.schedulerName", ("spec", "schedulerName"), "or_empty"),
    ("spec.serviceAccountName", ("spec", "serviceAccountName"), "or_empty"),
    ("spec.hostNetwork", ("spec", "hostNetwork"), "is_true"),
    ("status.phase", ("status", "phase"), "or_empty"),
    # str(as_map(as_list(status.podIPs)[0]).get("ip", "")): a str or absent here
    ("status.podIP", ("status", "podIPs", 0, "ip"), "get"),
    ("status.nominatedNodeName", ("status", "nominatedNodeName"), "or_empty"),
)
"""``kinds/pod.py``'s ``_pod_fields``, field by field."""

_KIND_RULES: Final = {("", "Pod"): _POD}


class StateReader:
    """Reads (namespace, labels, fields) of one kind's stored objects."""

    __slots__ = ("_names", "_paths", "kind", "rules")

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._paths: FieldPaths | None = None
        self._names: tuple[str, ...] = ()
        self.rules: tuple[tuple[str, tuple[str | int, ...], FieldRule], ...] = ()
        """(field name, path, rule) per selectable field when :attr:`supported` (the Rust
        watch router reads states with them)."""
        rules = list(_META if kind.namespaced else _META[:1])
        if kind.field_getter is not None:
            extra = _KIND_RULES.get((kind.group, kind.kind))
            if extra is None or {name for name, _, _ in extra} != set(kind.selectable_fields):
                return
            rules.extend(extra)
        self.rules = tuple(rules)
        self._names = tuple(name for name, _, _ in rules)
        self._paths = FieldPaths(
            [("metadata", "labels"), ("metadata", "namespace"), *(path for _, path, _ in rules)],
            [None, "or_empty", *(rule for _, _, rule in rules)],
            [None, None, *self._names],
        )

    @property
    def supported(self) -> bool:
        """Whether :meth:`read` can read this kind at all (else it always returns None)."""
        return self._paths is not None

    def read(self, data: bytes) -> tuple[str, Found, dict[str, str]] | None:
        """``(namespace, labels, fields)`` as :meth:`decode` gives them, except that
        ``labels`` is what ``FieldPaths.find`` found (turn it into the value with
        :func:`labels_of`), or None when only a decode can tell."""
        paths = self._paths
        if paths is None:
            return None
        try:
            got = paths.read(data)
        except ValueError:  # malformed: the decode reports it
            return None
        if got is None:
            return None
        labels, namespace, fields = got  # (found, str, dict of the named paths' strs)
        if labels is False:
            return None
        return namespace, labels, fields

    def decode(self, data: bytes) -> tuple[str, Any, dict[str, str]]:
        """``(meta.namespace or "", meta.labels or {}, Kind.fields)`` of the decoded object."""
        obj = decode_trusted(data)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        return meta.get("namespace") or "", meta.get("labels") or {}, self.kind.fields(obj)


def labels_of(found: Found) -> Any:
    """``meta.get("labels") or {}`` from what :meth:`StateReader.read` found."""
    if found is None:
        return {}
    if isinstance(found, bytes):
        return decode_trusted(found) or {}
    return found or {}
