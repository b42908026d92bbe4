"""DefaultTolerationSeconds: pods tolerate not-ready and unreachable nodes (NoExecute) for
300 s unless they already tolerate them."""

from __future__ import annotations

from typing import Any, Final

from kubemu.apiserver.admission.chain import Attributes, Operation

__all__ = ["DEFAULT_TOLERATION_SECONDS", "DefaultTolerationSeconds"]

DEFAULT_TOLERATION_SECONDS: Final = 300
NOT_READY: Final = "node.kubernetes.io/not-ready"
UNREACHABLE: Final = "node.kubernetes.io/unreachable"

Obj = dict[str, Any]


def _tolerates(tolerations: list[Any], key: str) -> bool:
    for t in tolerations:
        if not isinstance(t, dict):
            continue
        if t.get("key", "") in (key, "") and t.get("effect", "") in ("NoExecute", ""):
            return True
    return False


class DefaultTolerationSeconds:
    name = "DefaultTolerationSeconds"
    spec_only = True

    def __init__(
        self,
        not_ready_seconds: int = DEFAULT_TOLERATION_SECONDS,
        unreachable_seconds: int = DEFAULT_TOLERATION_SECONDS,
    ) -> None:
        self.seconds = {NOT_READY: not_ready_seconds, UNREACHABLE: unreachable_seconds}

    def admit(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        if a.operation != Operation.CREATE or a.subresource or obj is None:
            return
        if a.kind.plural != "pods" or a.kind.group:
            return
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        tolerations = spec.get("tolerations")
        if tolerations is None:
            tolerations = []
        if not isinstance(tolerations, list):
            return
        for key in (NOT_READY, UNREACHABLE):
            if not _tolerates(tolerations, key):
                tolerations.append(
                    {
                        "key": key,
                        "operator": "Exists",
                        "effect": "NoExecute",
                        "tolerationSeconds": self.seconds[key],
                    }
                )
        spec["tolerations"] = tolerations

    def validate(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        return None
