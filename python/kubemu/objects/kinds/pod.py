"""Pod (core/v1): defaults, validation, strategy, the ``binding`` subresource, QoS class."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import msgpack  # type: ignore[import-untyped]

from kubemu.objects.errors import (
    FieldError,
    StatusError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    struct,
)
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_list, as_map, dicts, is_int
from kubemu.objects.kinds.containers import parse_resource_list, resources_key
from kubemu.objects.kinds.podspec import default_pod_spec, validate_pod_spec
from kubemu.objects.kinds.scheduling import validate_tolerations
from kubemu.objects.meta import FIELD_IMMUTABLE, get_metadata, now_rfc3339
from kubemu.objects.names import (
    inclusive_range_error,
    is_valid_ip,
    name_is_dns_subdomain,
    qualified_name_errors,
)

__all__ = ["POD", "UPDATABLE_POD_SPEC_FIELDS", "bind", "compute_qos_class"]

UPDATABLE_POD_SPEC_FIELDS: Final = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
_MAX_INT32: Final = 2**31 - 1
_SYSTEM_CONDITIONS: Final = frozenset({"PodScheduled", "Ready", "Initialized"})


def _normalize_ips(pod: Obj) -> None:
    """The v1 conversion keeps ``podIP``/``podIPs`` (and ``hostIP``/``hostIPs``) in step: a
    single IP fills the list, the list's first IP is the single one."""
    status = pod.get("status")
    if not isinstance(status, dict):
        return
    for one, many in (("podIP", "podIPs"), ("hostIP", "hostIPs")):
        ips = status.get(many)
        if status.get(one) and not ips:
            status[many] = [{"ip": status[one]}]
        elif isinstance(ips, list) and ips and isinstance(ips[0], dict) and not status.get(one):
            status[one] = ips[0].get("ip", "")


def default_pod(pod: Obj) -> None:
    """``SetDefaults_Pod`` + ``SetDefaults_PodSpec`` + container defaults."""
    _normalize_ips(pod)
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    for key in ("containers", "initContainers"):
        for _, c in dicts(spec.get(key)):
            resources = c.get("resources")
            if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
                continue
            requests = resources.get("requests")
            if not isinstance(requests, dict):
                requests = resources["requests"] = {}
            for name, value in resources["limits"].items():
                requests.setdefault(name, value)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    default_pod_spec(spec)


def compute_qos_class(pod: Mapping[str, Any]) -> str:
    """``GetPodQOS``: Guaranteed, Burstable or BestEffort from cpu/memory requests and limits
    (memoized by the containers' resources when all have the common shape)."""
    spec = as_map(pod.get("spec"))
    keys: list[tuple[Any, ...]] = []
    for key in ("containers", "initContainers"):
        for _, c in dicts(spec.get(key)):
            resources = resources_key(c.get("resources"))
            if resources is None:
                return _qos_class(spec)
            keys.append(resources)
    return _cached_qos_class(tuple(keys))


@lru_cache(maxsize=4096)
def _cached_qos_class(keys: tuple[tuple[Any, ...], ...]) -> str:
    """:func:`_qos_class` of a spec whose containers' resources have these
    :func:`resources_key` keys (in order, init containers after the others: the class does
    not depend on which list a container is in)."""
    containers = [{"resources": {name: dict(items) for name, items in key}} for key in keys]
    return _qos_class({"containers": containers})


def _qos_class(spec: Mapping[str, Any]) -> str:
    requests: dict[str, int] = {}  # nanos
    limits: dict[str, int] = {}
    guaranteed = True
    for key in ("containers", "initContainers"):
        for _, c in dicts(spec.get(key)):
            c_requests, c_limits = _container_qos_resources(c.get("resources"))
            for name, n in c_requests:
                requests[name] = requests.get(name, 0) + n
            for name, n in c_limits:
                limits[name] = limits.get(name, 0) + n
            if len(c_limits) != 2:  # not both cpu and memory limits
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, n in requests.items():
            if limits.get(name) != n:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


QosResources = tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]


def _container_qos_resources(resources: Any) -> QosResources:
    """The positive cpu/memory requests and limits of one container, in nanos (memoized by
    content for the common shape)."""
    key = resources_key(resources)
    if key is not None:
        return _cached_qos_resources(key)
    return _qos_resources(as_map(resources))


@lru_cache(maxsize=4096)
def _cached_qos_resources(key: tuple[Any, ...]) -> QosResources:
    return _qos_resources({name: dict(items) for name, items in key})


def _qos_resources(res: Mapping[str, Any]) -> QosResources:
    out = []
    for field_name in ("requests", "limits"):
        found = []
        for name, q in parse_resource_list(res.get(field_name), "").items():
            if name in ("cpu", "memory") and q.nanos > 0:
                found.append((name, q.nanos))
        out.append(tuple(found))
    return out[0], out[1]


def _initial_status(pod: Obj) -> Obj:
    status: Obj = {"phase": "Pending", "qosClass": compute_qos_class(pod)}
    if as_list(as_map(pod.get("spec")).get("schedulingGates")):
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": None,
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
            }
        ]
    return status


def _validate_pod(pod: Obj) -> list[FieldError]:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return [required("spec.containers")]
    try:
        key = msgpack.packb(spec, use_bin_type=True)
    except (TypeError, ValueError, OverflowError):
        return validate_pod_spec(spec, "spec", is_pod=True)
    return list(_validate_pod_spec_bytes(key))


@lru_cache(maxsize=1024)
def _validate_pod_spec_bytes(spec: bytes) -> tuple[FieldError, ...]:
    """``validate_pod_spec`` of a spec given as msgpack bytes, memoized: the spec's validation
    depends on the spec alone, and the pods of one template (a ReplicaSet's, a benchmark's)
    share it, so each distinct spec is validated once."""
    return tuple(validate_pod_spec(msgpack.unpackb(spec, raw=False), "spec", is_pod=True))


def _validate_pod_create(pod: Obj) -> list[FieldError]:
    errs = _validate_pod(pod)
    spec = as_map(pod.get("spec"))
    if spec.get("ephemeralContainers"):
        errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and spec.get("schedulingGates"):
        errs.append(
            forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared")
        )
    return errs


def _container_updates(new: Any, old: Any, path: str) -> tuple[list[FieldError], bool]:
    if len(as_list(new)) != len(as_list(old)):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errs: list[FieldError] = []
    for i, c in dicts(new):
        image = c.get("image")
        if not image:
            errs.append(required(f"{path}[{i}].image"))
        elif isinstance(image, str) and image != image.strip():
            errs.append(
                invalid(f"{path}[{i}].image", image, "must not have leading or trailing whitespace")
            )
    return errs, False


def _only_added_tolerations(new: Any, old: Any, path: str) -> list[FieldError]:
    new_list = [t for _, t in dicts(new)]
    for _, t in dicts(old):
        base = {k: v for k, v in t.items() if k != "tolerationSeconds"}
        if not any(
            {k: v for k, v in n.items() if k != "tolerationSeconds"} == base for n in new_list
        ):
            return [
                forbidden(
                    path, "existing toleration can not be modified except its tolerationSeconds"
                )
            ]
    return validate_tolerations(new, path)


def _diff(old: Any, new: Any, path: str, out: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _diff(old.get(key), new.get(key), f"{path}.{key}", out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}[{i}]", out)
    else:
        out.append(f"- {path}: {old!r}\n+ {path}: {new!r}")


def _validate_pod_update(new: Obj, old: Obj) -> list[FieldError]:
    spec = new.get("spec")
    if type(spec) is dict and spec == old.get("spec"):
        # The spec did not change (a metadata or status write): the update checks are then
        # those of the new spec alone, memoized by its content as _validate_pod's.
        try:
            key = msgpack.packb(spec, use_bin_type=True)
        except (TypeError, ValueError, OverflowError):
            pass
        else:
            return list(_validate_unchanged_pod_spec_bytes(key))
    return _validate_pod_spec_update(new, old)


@lru_cache(maxsize=1024)
def _validate_unchanged_pod_spec_bytes(spec: bytes) -> tuple[FieldError, ...]:
    """:func:`_validate_pod_spec_update` of an update that keeps the spec given as msgpack
    bytes: the old spec equals the new one, so every check compares the new spec with
    itself (the same object: equal as the two were, NaN included), and the outcome depends
    on the spec alone."""
    same = msgpack.unpackb(spec, raw=False)
    return tuple(_validate_pod_spec_update({"spec": same}, {"spec": same}))


def _validate_pod_spec_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidatePodUpdate``'s spec part: the new spec's validation and what an update may
    change (reads only the two objects' ``spec``)."""
    errs = _validate_pod(new)
    spec, old_spec = as_map(new.get("spec")), as_map(old.get("spec"))
    for key in ("containers", "initContainers"):
        more, stop = _container_updates(spec.get(key), old_spec.get(key), f"spec.{key}")
        errs.extend(more)
        if stop:
            return errs
    deadline, old_deadline = (
        spec.get("activeDeadlineSeconds"),
        old_spec.get("activeDeadlineSeconds"),
    )
    if deadline is not None:
        if not is_int(deadline) or not 0 <= deadline <= _MAX_INT32:
            errs.append(
                invalid(
                    "spec.activeDeadlineSeconds", deadline, inclusive_range_error(0, _MAX_INT32)
                )
            )
            return errs
        if is_int(old_deadline) and old_deadline < deadline:
            errs.append(
                invalid(
                    "spec.activeDeadlineSeconds",
                    deadline,
                    "must be less than or equal to previous value",
                )
            )
            return errs
    elif old_deadline is not None:
        errs.append(
            invalid(
                "spec.activeDeadlineSeconds",
                None,
                "must not update from a positive integer to nil value",
            )
        )
    errs.extend(
        _only_added_tolerations(
            spec.get("tolerations"), old_spec.get("tolerations"), "spec.tolerations"
        )
    )
    old_gates = {g.get("name") for _, g in dicts(old_spec.get("schedulingGates"))}
    for i, gate in dicts(spec.get("schedulingGates")):
        if gate.get("name") not in old_gates:
            errs.append(
                forbidden(
                    f"spec.schedulingGates[{i}].name",
                    f"only deletion is allowed, but found new scheduling gate '{gate.get('name')}'",
                )
            )
    if spec == old_spec:
        return errs
    munged = copy.deepcopy(dict(spec))
    for key in ("containers", "initContainers"):
        for (_, c), (_, o) in zip(dicts(munged.get(key)), dicts(old_spec.get(key)), strict=False):
            if "image" in o:
                c["image"] = o["image"]
            else:
                c.pop("image", None)
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        if key in old_spec:
            munged[key] = old_spec[key]
        else:
            munged.pop(key, None)
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if is_int(old_grace) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if old_spec.get("schedulingGates"):
        # Gated pods may gain node selectors and node affinity (not validated in detail here).
        for key in ("nodeSelector",):
            if key in old_spec:
                munged[key] = old_spec[key]
            else:
                munged.pop(key, None)
        affinity = munged.get("affinity")
        if isinstance(affinity, dict):
            old_affinity = as_map(old_spec.get("affinity"))
            if "nodeAffinity" in old_affinity:
                affinity["nodeAffinity"] = old_affinity["nodeAffinity"]
            else:
                affinity.pop("nodeAffinity", None)
            if not affinity and "affinity" not in old_spec:
                munged.pop("affinity")
    if munged != old_spec:
        lines: list[str] = []
        _diff(dict(old_spec), munged, "spec", lines)
        errs.append(
            forbidden(
                "spec",
                "pod updates may not change fields other than "
                + ",".join(UPDATABLE_POD_SPEC_FIELDS)
                + "\n"
                + "\n".join(lines),
            )
        )
    return errs


def _validate_pod_status(new: Obj, old: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    status, old_status = as_map(new.get("status")), as_map(old.get("status"))
    for i, cond in dicts(status.get("conditions")):
        ctype = cond.get("type", "")
        if ctype not in _SYSTEM_CONDITIONS:
            errs.extend(
                invalid(f"metadata.conditions[{i}].Type", ctype, m)
                for m in qualified_name_errors(str(ctype))
            )
    nominated = status.get("nominatedNodeName")
    if nominated and nominated != old_status.get("nominatedNodeName"):
        errs.extend(
            invalid("status.nominatedNodeName", nominated, m)
            for m in name_is_dns_subdomain(str(nominated), False)
        )
    if status.get("qosClass", "") != old_status.get("qosClass", ""):
        errs.append(invalid("status.qosClass", status.get("qosClass", ""), FIELD_IMMUTABLE))
    restart = as_map(old.get("spec")).get("restartPolicy")
    if restart != "Always":
        new_states = {s.get("name"): s for _, s in dicts(status.get("containerStatuses"))}
        for i, s in dicts(old_status.get("containerStatuses")):
            terminated = as_map(as_map(s.get("state")).get("terminated"))
            if not terminated or (terminated.get("exitCode", 0) != 0 and restart == "OnFailure"):
                continue
            now = new_states.get(s.get("name"))
            if now is not None and as_map(now.get("state")).get("terminated") is None:
                errs.append(
                    forbidden(
                        f"status.containerStatuses[{i}].state",
                        "may not be transitioned to non-terminated state",
                    )
                )
    seen: set[str] = set()
    for i, ip in dicts(status.get("podIPs")):
        value = str(ip.get("ip", ""))
        errs.extend(invalid(f"status.podIPs[{i}]", value, m) for m in is_valid_ip(value))
        if value in seen:
            errs.append(duplicate(f"status.podIPs[{i}]", struct(dict(ip))))
        seen.add(value)
    return errs


def _pod_fields(pod: Mapping[str, Any]) -> dict[str, str]:
    spec, status = as_map(pod.get("spec")), as_map(pod.get("status"))
    ips = as_list(status.get("podIPs"))
    pod_ip = str(as_map(ips[0]).get("ip", "")) if ips else ""
    return {
        "spec.nodeName": spec.get("nodeName") or "",
        "spec.restartPolicy": spec.get("restartPolicy") or "",
        "spec.schedulerName": spec.get("schedulerName") or "",
        "spec.serviceAccountName": spec.get("serviceAccountName") or "",
        "spec.hostNetwork": "true" if spec.get("hostNetwork") is True else "false",
        "status.phase": status.get("phase") or "",
        "status.podIP": pod_ip,
        "status.nominatedNodeName": status.get("nominatedNodeName") or "",
    }


def bind(pod: Obj, binding: Mapping[str, Any], now: str | None = None) -> None:
    """Apply a ``pods/binding`` to ``pod`` in place, as the binding subresource does.

    Raises ``StatusError``: Invalid for a bad target, Conflict if the pod is being deleted,
    already bound, or still has scheduling gates.
    """
    target = as_map(binding.get("target"))
    errs: list[FieldError] = []
    if target.get("kind") and target.get("kind") != "Node":
        errs.append(not_supported("target.kind", target.get("kind"), ["Node", "<empty>"]))
    if not target.get("name"):
        errs.append(required("target.name"))
    meta = get_metadata(pod)
    name = meta.get("name", "")
    if errs:
        raise StatusError.invalid(
            "Binding", as_map(binding.get("metadata")).get("name", name), errs
        )
    spec = pod.setdefault("spec", {})
    if meta.get("deletionTimestamp"):
        detail = f"pod {name} is being deleted, cannot be assigned to a host"
    elif spec.get("nodeName"):
        detail = f'pod {name} is already assigned to node "{spec["nodeName"]}"'
    elif spec.get("schedulingGates"):
        detail = f"pod {name} has non-empty .spec.schedulingGates"
    else:
        detail = ""
    if detail:
        raise StatusError.conflict("pods/binding", name, detail)
    spec["nodeName"] = target["name"]
    annotations = as_map(as_map(binding.get("metadata")).get("annotations"))
    if annotations:
        meta.setdefault("annotations", {}).update(annotations)
    status = pod.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    for cond in conditions:
        if isinstance(cond, dict) and cond.get("type") == "PodScheduled":
            if cond.get("status") != "True":
                cond["lastTransitionTime"] = now or now_rfc3339()
            cond["status"] = "True"
            cond.pop("reason", None)
            cond.pop("message", None)
            return
    conditions.append(
        {
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": now or now_rfc3339(),
        }
    )


POD: Final = Kind(
    group="",
    version="v1",
    kind="Pod",
    plural="pods",
    singular="pod",
    short_names=("po",),
    has_status=True,
    has_generation=True,
    defaulter=default_pod,
    spec_validator=_validate_pod_create,
    update_validator=_validate_pod_update,
    status_validator=_validate_pod_status,
    initial_status=_initial_status,
    status_keeps_metadata=("ownerReferences",),
    template_spec=True,
    selectable_fields=(
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    field_getter=_pod_fields,
)
