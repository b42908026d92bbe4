"""ServiceAccount: a pod without ``spec.serviceAccountName`` runs as ``default``.

Upstream also requires the account to exist and mounts its token; kubemu's token controller
comes later, so only the defaulting is done (mirror pods are left alone, as upstream)."""

from __future__ import annotations

from typing import Any, Final

from kubemu.apiserver.admission.chain import Attributes, Operation

__all__ = ["DEFAULT_SERVICE_ACCOUNT", "ServiceAccount"]

DEFAULT_SERVICE_ACCOUNT: Final = "default"
MIRROR_POD_ANNOTATION: Final = "kubernetes.io/config.mirror"

Obj = dict[str, Any]


class ServiceAccount:
    name = "ServiceAccount"
    spec_only = True

    def admit(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        if a.operation != Operation.CREATE or a.subresource or obj is None:
            return
        if a.kind.plural != "pods" or a.kind.group:
            return
        annotations = (obj.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and MIRROR_POD_ANNOTATION in annotations:
            return
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = spec.get("serviceAccount") or DEFAULT_SERVICE_ACCOUNT
        if not spec.get("serviceAccount"):
            spec["serviceAccount"] = spec["serviceAccountName"]

    @staticmethod
    def template_key(obj: Obj) -> bool:
        """Mirror pods are left alone: the one thing read beyond the spec."""
        meta = obj.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        return isinstance(annotations, dict) and MIRROR_POD_ANNOTATION in annotations

    def validate(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        return None
