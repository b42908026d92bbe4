"""Endpoints (core/v1)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError, invalid, not_supported, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, dicts, is_int
from kubemu.objects.kinds.containers import PORT_PROTOCOLS
from kubemu.objects.names import (
    is_dns1123_label,
    is_valid_ip,
    is_valid_port_num,
    name_is_dns_subdomain,
    qualified_name_errors,
)

__all__ = ["ENDPOINTS", "special_ip_errors"]


def default_endpoints(ep: Obj) -> None:
    for _, subset in dicts(ep.get("subsets")):
        for _, port in dicts(subset.get("ports")):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def special_ip_errors(ip: str, path: str) -> list[FieldError]:
    """``ValidateEndpointIP``: no unspecified, loopback, link-local or link-local multicast."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return []
    if addr.is_unspecified:
        return [invalid(path, ip, "may not be unspecified (0.0.0.0)")]
    if addr.is_loopback:
        return [invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)")]
    if addr.is_link_local:
        return [invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")]
    if addr in ipaddress.ip_network("224.0.0.0/24") or (
        addr.version == 6 and addr in ipaddress.ip_network("ff02::/16")
    ):
        return [
            invalid(
                path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
            )
        ]
    return []


def _address(address: Mapping[str, Any], path: str) -> list[FieldError]:
    ip = str(address.get("ip", ""))
    errs = [invalid(f"{path}.ip", ip, m) for m in is_valid_ip(ip)]
    hostname = address.get("hostname")
    if hostname:
        errs.extend(
            invalid(f"{path}.hostname", hostname, m) for m in is_dns1123_label(str(hostname))
        )
    node_name = address.get("nodeName")
    if node_name is not None:
        errs.extend(
            invalid(f"{path}.nodeName", node_name, m)
            for m in name_is_dns_subdomain(str(node_name), False)
        )
    if not errs:
        errs.extend(special_ip_errors(ip, f"{path}.ip"))
    return errs


def _port(port: Mapping[str, Any], require_name: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_label(str(name)))
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
    app_protocol = port.get("appProtocol")
    if app_protocol is not None:
        errs.extend(
            invalid(f"{path}.appProtocol", app_protocol, m)
            for m in qualified_name_errors(str(app_protocol))
        )
    return errs


def _validate(ep: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, subset in dicts(ep.get("subsets")):
        p = f"subsets[{i}]"
        addresses = [a for _, a in dicts(subset.get("addresses"))]
        not_ready = [a for _, a in dicts(subset.get("notReadyAddresses"))]
        if not addresses and not not_ready:
            errs.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
        for j, a in enumerate(addresses):
            errs.extend(_address(a, f"{p}.addresses[{j}]"))
        for j, a in enumerate(not_ready):
            errs.extend(_address(a, f"{p}.notReadyAddresses[{j}]"))
        ports = [q for _, q in dicts(subset.get("ports"))]
        for j, port in enumerate(ports):
            errs.extend(_port(port, len(ports) > 1, f"{p}.ports[{j}]"))
    return errs


ENDPOINTS: Final = Kind(
    group="",
    version="v1",
    kind="Endpoints",
    plural="endpoints",
    singular="endpoints",
    short_names=("ep",),
    defaulter=default_endpoints,
    spec_validator=_validate,
)
