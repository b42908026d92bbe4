"""Resource amounts and upstream's pod request rules (``resourcehelper.PodRequests``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubemu.objects.quantity import Quantity

DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

ResourceList = dict[str, Quantity]


def is_scalar_resource_name(name: str) -> bool:
    """Extended (``a/b``, not a quota ``requests.`` name), hugepages-* and attachable-volumes-*."""
    return (
        ("/" in name and not name.startswith("requests."))
        or name.startswith("hugepages-")
        or name.startswith("attachable-volumes-")
    )


def parse_list(m: Mapping[str, Any] | None) -> ResourceList:
    return {k: Quantity.parse(v) for k, v in (m or {}).items()}


@dataclass
class Resource:
    """Upstream ``framework.Resource``: cpu in millicores, others rounded up to units."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    allowed_pod_number: int = 0
    scalar: dict[str, int] = field(default_factory=dict)

    def add_list(self, rl: ResourceList) -> None:
        for name, q in rl.items():
            if name == CPU:
                self.milli_cpu += q.milli_value()
            elif name == MEMORY:
                self.memory += q.value()
            elif name == EPHEMERAL_STORAGE:
                self.ephemeral_storage += q.value()
            elif name == PODS:
                self.allowed_pod_number += q.value()
            elif is_scalar_resource_name(name):
                self.scalar[name] = self.scalar.get(name, 0) + q.value()

    def add(self, o: Resource, sign: int = 1) -> None:
        self.milli_cpu += sign * o.milli_cpu
        self.memory += sign * o.memory
        self.ephemeral_storage += sign * o.ephemeral_storage
        self.allowed_pod_number += sign * o.allowed_pod_number
        for n, v in o.scalar.items():
            self.scalar[n] = self.scalar.get(n, 0) + sign * v

    def is_empty_request(self) -> bool:
        return (
            self.milli_cpu == 0
            and self.memory == 0
            and self.ephemeral_storage == 0
            and not self.scalar
        )


def _add(into: ResourceList, rl: ResourceList) -> None:
    for n, q in rl.items():
        into[n] = into.get(n, Quantity()) + q


def _max(into: ResourceList, rl: ResourceList) -> None:
    for n, q in rl.items():
        if n not in into or q > into[n]:
            into[n] = q


def container_requests(c: Mapping[str, Any]) -> ResourceList:
    """``requests``, with each ``limits`` entry standing in for a missing request."""
    res = c.get("resources") or {}
    r = parse_list(res.get("requests"))
    for n, q in parse_list(res.get("limits")).items():
        r.setdefault(n, q)
    return r


def is_sidecar(c: Mapping[str, Any]) -> bool:
    return c.get("restartPolicy") == "Always"


def pod_requests(spec: Mapping[str, Any], non_missing: ResourceList | None) -> ResourceList:
    """Sum of containers (and sidecars) raised to each init container's need (an init container
    runs next to the sidecars started before it); pod-level cpu/memory/hugepages replace;
    overhead is added. ``non_missing`` fills resources a container does not list."""

    def adjust(r: ResourceList) -> ResourceList:
        out = dict(r)
        for n, q in (non_missing or {}).items():
            out.setdefault(n, q)
        return out

    reqs: ResourceList = {}
    for c in spec.get("containers") or []:
        _add(reqs, adjust(container_requests(c)))
    restartable: ResourceList = {}
    init: ResourceList = {}
    for c in spec.get("initContainers") or []:
        r = adjust(container_requests(c))
        if is_sidecar(c):
            _add(reqs, r)
            _add(restartable, r)
            _max(init, restartable)
        else:
            tmp = dict(r)
            _add(tmp, restartable)
            _max(init, tmp)
    _max(reqs, init)
    pod_level = spec.get("resources")
    if pod_level is not None:
        for n, q in parse_list(pod_level.get("requests")).items():
            if n in (CPU, MEMORY) or n.startswith("hugepages-"):
                reqs[n] = q
    _add(reqs, parse_list(spec.get("overhead")))
    return reqs


def requests_of(spec: Mapping[str, Any]) -> tuple[Resource, int, int]:
    """(requests for fitting, non-zero milli-cpu, non-zero memory) of a pod spec."""
    req = Resource()
    req.add_list(pod_requests(spec, None))
    defaults = {
        CPU: Quantity.from_milli(DEFAULT_MILLI_CPU_REQUEST),
        MEMORY: Quantity.from_int(DEFAULT_MEMORY_REQUEST),
    }
    nz = pod_requests(spec, defaults)
    return req, nz.get(CPU, Quantity()).milli_value(), nz.get(MEMORY, Quantity()).value()
