"""The admission interfaces and the chain that runs plugins in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from kubemu.apiserver.request import UserInfo
from kubemu.objects.kinds.base import Kind

__all__ = [
    "AdmissionChain",
    "AdmissionPlugin",
    "Attributes",
    "ObjectReader",
    "Operation",
    "default_chain",
]

Obj = dict[str, Any]


class Operation(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CONNECT = "CONNECT"


class ObjectReader(Protocol):
    """Read access to stored objects for plugins: decoded objects, which may be shared with
    other readers (the apiserver's are shared within a request and across requests while the
    stored object is unchanged), so plugins must not modify them."""

    def read(self, resource: str, namespace: str, name: str) -> Obj | None: ...

    def read_all(self, resource: str, namespace: str = "") -> list[Obj]: ...


@dataclass(frozen=True, slots=True)
class Attributes:
    """``admission.Attributes``: the request a plugin sees."""

    operation: Operation
    kind: Kind
    namespace: str
    name: str
    subresource: str
    user: UserInfo
    reader: ObjectReader
    dry_run: bool = False


class AdmissionPlugin(Protocol):
    name: str

    def admit(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        """Mutating phase: may change ``obj``; raise ``StatusError`` to reject."""
        ...

    def validate(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        """Validating phase: raise ``StatusError`` to reject."""
        ...


class AdmissionChain:
    def __init__(self, plugins: Iterable[AdmissionPlugin] = ()) -> None:
        self.plugins: Sequence[AdmissionPlugin] = tuple(plugins)

    @property
    def spec_only(self) -> bool:
        """Every plugin declares ``spec_only = True``: on a create of a template kind
        (``Kind.template_spec``) it reads only the request's attributes other than the name,
        its reader, ``obj["spec"]`` and what its optional ``template_key(obj)`` returns (from
        metadata), changes only ``obj["spec"]``, and accepts or rejects alike whatever the
        object's name. A batch may then admit one object per distinct (namespace, spec,
        template keys) and copy the outcome to the others (the batch shares one reader)."""
        return all(getattr(p, "spec_only", False) for p in self.plugins)

    def template_key_fns(self) -> tuple[Callable[[Obj], object], ...]:
        """The plugins' ``template_key`` functions: what they read from an object beyond its
        spec (see :attr:`spec_only`)."""
        return tuple(
            key for p in self.plugins if (key := getattr(p, "template_key", None)) is not None
        )

    def template_key(self, obj: Obj) -> tuple[object, ...]:
        return tuple(fn(obj) for fn in self.template_key_fns())

    def admit(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        for p in self.plugins:
            p.admit(a, obj, old)

    def validate(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        for p in self.plugins:
            p.validate(a, obj, old)


def default_chain() -> AdmissionChain:
    from kubemu.apiserver.admission.default_tolerations import DefaultTolerationSeconds
    from kubemu.apiserver.admission.namespace_lifecycle import NamespaceLifecycle
    from kubemu.apiserver.admission.priority import Priority
    from kubemu.apiserver.admission.service_account import ServiceAccount

    return AdmissionChain(
        [NamespaceLifecycle(), ServiceAccount(), DefaultTolerationSeconds(), Priority()]
    )
