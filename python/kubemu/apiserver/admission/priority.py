"""Priority: ``spec.priorityClassName`` → ``spec.priority`` and ``spec.preemptionPolicy``.

Without a class name the pod gets the global default class (the highest-valued one marked
``globalDefault``), else priority 0. ``system-node-critical`` and ``system-cluster-critical``
resolve to their builtin values even before the PriorityClass objects exist. A PriorityClass
create marked ``globalDefault`` is refused when another one already is."""

from __future__ import annotations

from typing import Any, Final

from kubemu.apiserver.admission.chain import Attributes, Operation
from kubemu.objects.errors import StatusError
from kubemu.objects.kinds.priorityclass import SYSTEM_PRIORITY_CLASSES

__all__ = ["Priority"]

DEFAULT_PREEMPTION_POLICY: Final = "PreemptLowerPriority"

Obj = dict[str, Any]


class Priority:
    name = "Priority"
    spec_only = True

    def admit(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        if a.operation != Operation.CREATE or a.subresource or obj is None:
            return
        if a.kind.plural == "pods" and not a.kind.group:
            self._admit_pod(a, obj)

    def _admit_pod(self, a: Attributes, pod: Obj) -> None:
        spec = pod.get("spec")
        if not isinstance(spec, dict):
            return
        name = spec.get("priorityClassName") or ""
        value: int
        policy: str | None
        if not name:
            default = self._global_default(a)
            if default is None:
                value, policy = 0, DEFAULT_PREEMPTION_POLICY
            else:
                name = (default.get("metadata") or {}).get("name", "")
                spec["priorityClassName"] = name
                value, policy = _value(default), default.get("preemptionPolicy")
        else:
            pc = a.reader.read("priorityclasses.scheduling.k8s.io", "", str(name))
            if pc is not None:
                value, policy = _value(pc), pc.get("preemptionPolicy")
            elif name in SYSTEM_PRIORITY_CLASSES:
                value, policy = SYSTEM_PRIORITY_CLASSES[name], DEFAULT_PREEMPTION_POLICY
            else:
                raise StatusError.forbidden(
                    "pods",
                    (pod.get("metadata") or {}).get("name", ""),
                    f"no PriorityClass with name {name} was found",
                )
        given = spec.get("priority")
        if given is not None and given != value:
            raise StatusError.forbidden(
                "pods",
                (pod.get("metadata") or {}).get("name", ""),
                f"the integer value of priority ({given}) must not be provided in pod spec; "
                f"priority admission controller computed {value} from the given PriorityClass "
                "name",
            )
        spec["priority"] = value
        policy = policy or DEFAULT_PREEMPTION_POLICY
        given_policy = spec.get("preemptionPolicy")
        if given_policy is not None and given_policy != policy:
            raise StatusError.forbidden(
                "pods",
                (pod.get("metadata") or {}).get("name", ""),
                f"the string value of PreemptionPolicy ({given_policy}) must not be provided in "
                f"pod spec; priority admission controller computed {policy} from the given "
                "PriorityClass name",
            )
        spec["preemptionPolicy"] = policy

    @staticmethod
    def _global_default(a: Attributes) -> Obj | None:
        best: Obj | None = None
        for pc in a.reader.read_all("priorityclasses.scheduling.k8s.io"):
            if pc.get("globalDefault") is True and (best is None or _value(pc) > _value(best)):
                best = pc
        return best

    def validate(self, a: Attributes, obj: Obj | None, old: Obj | None) -> None:
        if obj is None or a.kind.plural != "priorityclasses":
            return
        if a.operation not in (Operation.CREATE, Operation.UPDATE) or not obj.get("globalDefault"):
            return
        for pc in a.reader.read_all("priorityclasses.scheduling.k8s.io"):
            other = (pc.get("metadata") or {}).get("name", "")
            if pc.get("globalDefault") is True and other != a.name:
                raise StatusError.forbidden(
                    "priorityclasses",
                    a.name,
                    f"PriorityClass {other} is already marked as default. Only one default can "
                    "exist",
                    group="scheduling.k8s.io",
                )


def _value(pc: Obj) -> int:
    v = pc.get("value", 0)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0
