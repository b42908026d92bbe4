"""NamespaceLifecycle: no new content in a missing or terminating namespace; the system
namespaces cannot be deleted."""

from __future__ import annotations

from typing import Any, Final

from kubemu.apiserver.admission.chain import Attributes, Operation
from kubemu.objects.errors import StatusError

__all__ = ["IMMORTAL_NAMESPACES", "NamespaceLifecycle"]

IMMORTAL_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public"})

Obj = dict[str, Any]


class NamespaceLifecycle:
    name = "NamespaceLifecycle"
    spec_only = True

    def admit(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        kind = a.kind
        if a.operation == Operation.DELETE and kind.plural == "namespaces" and not kind.group:
            if a.name in IMMORTAL_NAMESPACES:
                raise StatusError.forbidden(
                    "namespaces", a.name, "this namespace may not be deleted"
                )
            return
        if a.operation != Operation.CREATE or not kind.namespaced or not a.namespace:
            return
        # Subresource creates on existing objects (bindings) are allowed in terminating ones.
        if a.subresource:
            return
        ns = a.reader.read("namespaces", "", a.namespace)
        if ns is None:
            raise StatusError.not_found("namespaces", a.namespace)
        phase = (ns.get("status") or {}).get("phase")
        if phase == "Terminating" or (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise StatusError.forbidden(
                kind.group_resource if not kind.group else kind.plural,
                a.name,
                f"unable to create new content in namespace {a.namespace} because it is being "
                "terminated",
                group=kind.group,
            )

    def validate(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        return None
