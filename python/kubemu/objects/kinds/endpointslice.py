"""EndpointSlice (discovery.k8s.io/v1)."""

from __future__ import annotations

from typing import Final

from kubemu.objects.errors import (
    FieldError,
    duplicate,
    invalid,
    not_supported,
    required,
    too_many,
)
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_list, as_map, dicts
from kubemu.objects.kinds.containers import PORT_PROTOCOLS
from kubemu.objects.kinds.endpoints import special_ip_errors
from kubemu.objects.meta import immutable
from kubemu.objects.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_ipv4,
    is_valid_ipv6,
    name_is_dns_subdomain,
    qualified_name_errors,
)

__all__ = ["ENDPOINT_SLICE", "SERVICE_NAME_LABEL"]

SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"
_ADDRESS_TYPES: Final = ("FQDN", "IPv4", "IPv6")
_MAX_ENDPOINTS: Final = 1000
_MAX_ADDRESSES: Final = 100
_MAX_PORTS: Final = 20000


def default_endpoint_slice(es: Obj) -> None:
    for _, port in dicts(es.get("ports")):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


def _endpoints(es: Obj) -> list[FieldError]:
    endpoints = as_list(es.get("endpoints"))
    if len(endpoints) > _MAX_ENDPOINTS:
        return [too_many("endpoints", len(endpoints), _MAX_ENDPOINTS)]
    address_type = es.get("addressType")
    errs: list[FieldError] = []
    for i, ep in dicts(endpoints):
        p = f"endpoints[{i}]"
        addresses = as_list(ep.get("addresses"))
        if not addresses:
            errs.append(required(f"{p}.addresses", "must contain at least 1 address"))
        elif len(addresses) > _MAX_ADDRESSES:
            errs.append(too_many(f"{p}.addresses", len(addresses), _MAX_ADDRESSES))
        for j, address in enumerate(addresses):
            ap, a = f"{p}.addresses[{j}]", str(address)
            if address_type == "IPv4":
                msgs = is_valid_ipv4(a)
                errs.extend(invalid(ap, address, m) for m in msgs)
                if not msgs:
                    errs.extend(special_ip_errors(a, ap))
            elif address_type == "IPv6":
                errs.extend(invalid(ap, address, m) for m in is_valid_ipv6(a))
            elif address_type == "FQDN":
                errs.extend(invalid(ap, address, m) for m in is_dns1123_subdomain(a))
        node_name = ep.get("nodeName")
        if node_name is not None:
            errs.extend(
                invalid(f"{p}.nodeName", node_name, m)
                for m in name_is_dns_subdomain(str(node_name), False)
            )
        hostname = ep.get("hostname")
        if hostname is not None:
            errs.extend(
                invalid(f"{p}.hostname", hostname, m) for m in is_dns1123_label(str(hostname))
            )
    return errs


def _ports(es: Obj) -> list[FieldError]:
    ports = as_list(es.get("ports"))
    if len(ports) > _MAX_PORTS:
        return [too_many("ports", len(ports), _MAX_PORTS)]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in dicts(ports):
        p = f"ports[{i}]"
        name = str(port.get("name") or "")
        if name:
            errs.extend(invalid(f"{p}.name", name, m) for m in is_dns1123_label(name))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        names.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            errs.append(required(f"{p}.protocol"))
        elif protocol not in PORT_PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", protocol, PORT_PROTOCOLS))
        app_protocol = port.get("appProtocol")
        if app_protocol is not None:
            errs.extend(
                invalid(f"{p}.appProtocol", app_protocol, m)
                for m in qualified_name_errors(str(app_protocol))
            )
    return errs


def _validate(es: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    address_type = es.get("addressType") or ""
    if not address_type:
        errs.append(required("addressType"))
    elif address_type not in _ADDRESS_TYPES:
        errs.append(not_supported("addressType", address_type, _ADDRESS_TYPES))
    return errs + _endpoints(es) + _ports(es)


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = _validate(new)
    if as_map(old).get("addressType") in _ADDRESS_TYPES:
        errs.extend(immutable(new.get("addressType"), old.get("addressType"), "addressType"))
    return errs


ENDPOINT_SLICE: Final = Kind(
    group="discovery.k8s.io",
    version="v1",
    kind="EndpointSlice",
    plural="endpointslices",
    singular="endpointslice",
    has_generation=True,
    defaulter=default_endpoint_slice,
    spec_validator=_validate,
    update_validator=_validate_update,
    bumps_generation=lambda new, old: any(
        new.get(k) != old.get(k) for k in ("addressType", "endpoints", "ports")
    ),
)
