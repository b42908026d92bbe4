"""Service (core/v1). ClusterIP and nodePort allocation belong to the apiserver's registry;
this module defaults, validates and keeps allocated values across updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    struct,
)
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_list, as_map, dicts, is_int
from kubemu.objects.kinds.containers import PORT_PROTOCOLS
from kubemu.objects.labels import validate_labels
from kubemu.objects.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_ip,
    is_valid_port_name,
    is_valid_port_num,
    name_is_dns1035_label,
)

__all__ = ["SERVICE"]

_TYPES: Final = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_AFFINITIES: Final = ("ClientIP", "None")
_TRAFFIC_POLICIES: Final = ("Cluster", "Local")


def _externally_accessible(spec: Mapping[str, Any]) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(as_list(spec.get("externalIPs")))
    )


def _headless(spec: Mapping[str, Any]) -> bool:
    return spec.get("clusterIP") == "None"


def default_service(svc: Obj) -> None:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        return
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    for _, port in dicts(spec.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if _externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (
        "ClusterIP",
        "NodePort",
        "LoadBalancer",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]


def _validate_port(
    port: Mapping[str, Any], require_name: bool, names: set[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_label(str(name)))
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
    number = port.get("port")
    if not is_int(number):
        errs.append(invalid(f"{path}.port", number, "must be an integer"))
    else:
        errs.extend(invalid(f"{path}.port", number, m) for m in is_valid_port_num(number))
    protocol = port.get("protocol") or ""
    if not protocol:
        errs.append(required(f"{path}.protocol"))
    elif protocol not in PORT_PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, PORT_PROTOCOLS))
    target = port.get("targetPort")
    if isinstance(target, str):
        errs.extend(invalid(f"{path}.targetPort", target, m) for m in is_valid_port_name(target))
    elif is_int(target):
        errs.extend(invalid(f"{path}.targetPort", target, m) for m in is_valid_port_num(target))
    elif target is not None:
        errs.append(invalid(f"{path}.targetPort", target, "must be an integer or a port name"))
    return errs


def _validate(svc: Obj) -> list[FieldError]:
    spec = as_map(svc.get("spec"))
    errs: list[FieldError] = []
    kind = spec.get("type") or ""
    ports = as_list(spec.get("ports"))
    if not ports and not _headless(spec) and kind != "ExternalName":
        errs.append(required("spec.ports"))
    if kind in ("LoadBalancer", "NodePort") and _headless(spec):
        errs.append(
            invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services")
        )
    if kind == "ExternalName":
        if as_list(spec.get("clusterIPs")):
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        cname = str(spec.get("externalName") or "").removesuffix(".")
        if cname:
            errs.extend(invalid("spec.externalName", cname, m) for m in is_dns1123_subdomain(cname))
        else:
            errs.append(required("spec.externalName"))
    names: set[str] = set()
    for i, port in dicts(ports):
        errs.extend(_validate_port(port, len(ports) > 1, names, f"spec.ports[{i}]"))
    if spec.get("selector") is not None:
        errs.extend(validate_labels(spec.get("selector"), "spec.selector"))
    affinity = spec.get("sessionAffinity") or ""
    if not affinity:
        errs.append(required("spec.sessionAffinity"))
    elif affinity not in _AFFINITIES:
        errs.append(not_supported("spec.sessionAffinity", affinity, _AFFINITIES))
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(
            forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )
    for i, ip in enumerate(as_list(spec.get("clusterIPs"))):
        if ip != "None":
            errs.extend(invalid(f"spec.clusterIPs[{i}]", ip, m) for m in is_valid_ip(str(ip)))
    for i, ip in enumerate(as_list(spec.get("externalIPs"))):
        errs.extend(invalid(f"spec.externalIPs[{i}]", ip, m) for m in is_valid_ip(str(ip)))
    if not kind:
        errs.append(required("spec.type"))
    elif kind not in _TYPES:
        errs.append(not_supported("spec.type", kind, _TYPES))
    seen: set[tuple[Any, Any]] = set()
    for i, port in dicts(ports):
        if kind == "ClusterIP" and port.get("nodePort"):
            errs.append(
                forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
            )
        key = (port.get("protocol"), port.get("port"))
        if key in seen:
            errs.append(duplicate(f"spec.ports[{i}]", struct({"port": key[1], "protocol": key[0]})))
        seen.add(key)
    etp = spec.get("externalTrafficPolicy") or ""
    if not _externally_accessible(spec):
        if etp:
            errs.append(
                invalid(
                    "spec.externalTrafficPolicy",
                    etp,
                    "may only be set for externally-accessible services",
                )
            )
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in _TRAFFIC_POLICIES:
        errs.append(not_supported("spec.externalTrafficPolicy", etp, _TRAFFIC_POLICIES))
    itp = spec.get("internalTrafficPolicy")
    if itp is None:
        if kind in ("ClusterIP", "NodePort", "LoadBalancer"):
            errs.append(required("spec.internalTrafficPolicy"))
    elif itp not in _TRAFFIC_POLICIES:
        errs.append(not_supported("spec.internalTrafficPolicy", itp, _TRAFFIC_POLICIES))
    return errs


def _keep_allocated(new: Obj, old: Obj) -> None:
    """``patchAllocatedValues``: an update that omits the allocated clusterIP(s) and nodePorts
    keeps them."""
    spec, old_spec = new.get("spec"), as_map(old.get("spec"))
    if not isinstance(spec, dict) or "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return
    for key in ("clusterIP", "clusterIPs"):
        if not spec.get(key) and old_spec.get(key):
            spec[key] = old_spec[key]
    old_ports = {(p.get("port"), p.get("protocol")): p for _, p in dicts(old_spec.get("ports"))}
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        for _, port in dicts(spec.get("ports")):
            prev = old_ports.get((port.get("port"), port.get("protocol")))
            if prev is not None and not port.get("nodePort") and prev.get("nodePort"):
                port["nodePort"] = prev["nodePort"]


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = _validate(new)
    spec, old_spec = as_map(new.get("spec")), as_map(old.get("spec"))
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return errs
    if _headless(spec) and _headless(old_spec):
        return errs
    old_ips, new_ips = as_list(old_spec.get("clusterIPs")), as_list(spec.get("clusterIPs"))
    for i, ip in enumerate(old_ips):
        if (i < len(new_ips) and new_ips[i] != ip) or (i == 0 and not new_ips):
            errs.append(invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set"))
    return errs


def _fields(svc: Mapping[str, Any]) -> dict[str, str]:
    spec = as_map(svc.get("spec"))
    return {"spec.clusterIP": spec.get("clusterIP") or "", "spec.type": spec.get("type") or ""}


SERVICE: Final = Kind(
    group="",
    version="v1",
    kind="Service",
    plural="services",
    singular="service",
    short_names=("svc",),
    has_status=True,
    name_fn=name_is_dns1035_label,
    defaulter=default_service,
    spec_validator=_validate,
    update_validator=_validate_update,
    on_update=_keep_allocated,
    initial_status=lambda svc: {"loadBalancer": {}},
    selectable_fields=("spec.clusterIP", "spec.type"),
    field_getter=_fields,
)
