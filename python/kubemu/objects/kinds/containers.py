"""Containers of a pod spec: defaults (``SetDefaults_Container``) and validation
(``validateContainerCommon``, ports, env, volume mounts, resources)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

from kubemu.objects.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
)
from kubemu.objects.kinds.common import Obj, as_map, dicts, is_int
from kubemu.objects.meta import IS_NEGATIVE
from kubemu.objects.names import (
    is_dns1123_label,
    is_env_var_name,
    is_valid_port_name,
    is_valid_port_num,
    qualified_name_errors,
)
from kubemu.objects.quantity import Quantity, parse_quantity

__all__ = [
    "default_container",
    "image_pull_policy",
    "is_overcommit_allowed",
    "parse_resource_list",
    "validate_containers",
    "validate_init_containers",
    "validate_resource_requirements",
]

PORT_PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
_PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")
_STANDARD_CONTAINER_RESOURCES: Final = frozenset({"cpu", "memory", "ephemeral-storage"})
_STANDARD_RESOURCES: Final = _STANDARD_CONTAINER_RESOURCES | frozenset(
    {
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "persistentvolumeclaims",
        "configmaps",
        "storage",
        "requests.storage",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_TAG_RE: Final = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_ENV_SOURCES: Final = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")


def image_pull_policy(image: Any) -> str:
    """``Always`` for a ``latest`` or missing tag, else ``IfNotPresent`` (also for a digest
    without a tag and for references that do not parse, whose tag upstream reads as empty)."""
    if not isinstance(image, str) or not image:
        return "IfNotPresent"
    name, _, digest = image.partition("@")
    tag = ""
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            return "IfNotPresent"
    if not name or name != name.lower() or any(c.isspace() for c in name):
        return "IfNotPresent"
    if not tag and not digest:
        tag = "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_container(c: Obj) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = image_pull_policy(c.get("image"))
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    for _, port in dicts(c.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for _, env in dicts(c.get("env")):
        field_ref = as_map(as_map(env.get("valueFrom")).get("fieldRef"))
        if field_ref and not field_ref.get("apiVersion") and isinstance(field_ref, dict):
            field_ref["apiVersion"] = "v1"


# Resources


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_extended(name: str) -> bool:
    if _is_native(name) or name.startswith("requests."):
        return False
    return not qualified_name_errors("requests." + name)


def is_overcommit_allowed(name: str) -> bool:
    """Requests may be below limits only for native, non-hugepage resources."""
    return _is_native(name) and not _is_hugepages(name)


def _is_integer_resource(name: str) -> bool:
    return name in {"pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
                    "configmaps", "persistentvolumeclaims", "services.nodeports",
                    "services.loadbalancers"} or _is_extended(name)  # fmt: skip


def _resource_name_errors(name: str, path: str) -> list[FieldError]:
    msgs = qualified_name_errors(name)
    if msgs:
        return [invalid(path, name, m) for m in msgs]
    if "/" not in name:
        if name not in _STANDARD_RESOURCES and not _is_hugepages(name):
            return [invalid(path, name, "must be a standard resource type or fully qualified")]
        if name not in _STANDARD_CONTAINER_RESOURCES and not _is_hugepages(name):
            return [invalid(path, name, "must be a standard resource for containers")]
    elif not _is_native(name) and not _is_extended(name):
        return [invalid(path, name, "doesn't follow extended resource name standard")]
    return []


def parse_resource_list(
    resources: Any, path: str, errs: list[FieldError] | None = None
) -> dict[str, Quantity]:
    """A ``ResourceList`` as quantities; unparsable entries are reported (if ``errs``) and
    skipped."""
    out: dict[str, Quantity] = {}
    for name, value in as_map(resources).items():
        try:
            out[name] = parse_quantity(value)
        except ValueError as e:
            if errs is not None:
                errs.append(invalid(f"{path}[{name}]", value, str(e)))
    return out


def _quantity_value_errors(name: str, q: Quantity, path: str) -> list[FieldError]:
    errs = []
    if q.sign() < 0:
        errs.append(invalid(path, q.canonical(), IS_NEGATIVE))
    if _is_integer_resource(name) and q.milli_value() % 1000 != 0:
        errs.append(invalid(path, q, "must be an integer"))
    return errs


def resources_key(resources: Any) -> tuple[Any, ...] | None:
    """A hashable key of a ``ResourceRequirements`` made only of string maps under ``limits``
    and ``requests`` (the common shape), else None. Equal keys validate alike."""
    if type(resources) is not dict:
        return None if resources is not None else ()
    key: list[Any] = []
    for field_name, value in resources.items():
        if field_name not in ("limits", "requests") or type(value) is not dict:
            return None
        items = tuple(value.items())
        for k, v in items:
            if type(k) is not str or type(v) is not str:
                return None
        key.append((field_name, items))
    return tuple(key)


@lru_cache(maxsize=4096)
def _cached_resource_requirements(key: tuple[Any, ...], path: str) -> tuple[FieldError, ...]:
    resources = {name: dict(items) for name, items in key}
    return tuple(_validate_resource_requirements(resources, path))


def validate_resource_requirements(resources: Any, path: str) -> list[FieldError]:
    """``ValidateContainerResourceRequirements``: names, non-negative quantities, request ≤
    limit (= limit for resources that cannot be overcommitted). Results for the common shape
    (string maps) are memoized by content and path: pods of one template validate once."""
    key = resources_key(resources)
    if key is not None:
        return list(_cached_resource_requirements(key, path))
    return _validate_resource_requirements(resources, path)


def _validate_resource_requirements(resources: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    res = as_map(resources)
    lim_path, req_path = f"{path}.limits", f"{path}.requests"
    limits = parse_resource_list(res.get("limits"), lim_path, errs)
    requests = parse_resource_list(res.get("requests"), req_path, errs)
    cpu_or_memory = False
    hugepages = False
    for name, q in limits.items():
        p = f"{lim_path}[{name}]"
        errs.extend(_resource_name_errors(name, p))
        errs.extend(_quantity_value_errors(name, q, p))
        hugepages = hugepages or _is_hugepages(name)
        cpu_or_memory = cpu_or_memory or name in ("cpu", "memory")
    for name, q in requests.items():
        p = f"{req_path}[{name}]"
        errs.extend(_resource_name_errors(name, p))
        errs.extend(_quantity_value_errors(name, q, p))
        limit = limits.get(name)
        if limit is not None:
            if q != limit and not is_overcommit_allowed(name):
                errs.append(
                    invalid(req_path, q.canonical(), f"must be equal to {name} limit of {limit}")
                )
            elif q > limit:
                errs.append(
                    invalid(
                        req_path,
                        q.canonical(),
                        f"must be less than or equal to {name} limit of {limit}",
                    )
                )
        elif not is_overcommit_allowed(name):
            errs.append(required(lim_path, "Limit must be set for non overcommitable resources"))
        hugepages = hugepages or _is_hugepages(name)
        cpu_or_memory = cpu_or_memory or name in ("cpu", "memory")
    if hugepages and not cpu_or_memory:
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    return errs


# Container fields


def _validate_ports(ports: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in dicts(ports):
        p = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = is_valid_port_name(name) if isinstance(name, str) else ["must be a string"]
            if msgs:
                errs.extend(invalid(f"{p}.name", name, m) for m in msgs)
            elif name in names:
                errs.append(duplicate(f"{p}.name", name))
            else:
                names.add(name)
        cport = port.get("containerPort")
        if not cport:
            errs.append(required(f"{p}.containerPort"))
        elif not is_int(cport):
            errs.append(invalid(f"{p}.containerPort", cport, "must be an integer"))
        else:
            errs.extend(invalid(f"{p}.containerPort", cport, m) for m in is_valid_port_num(cport))
        hport = port.get("hostPort")
        if hport:
            if not is_int(hport):
                errs.append(invalid(f"{p}.hostPort", hport, "must be an integer"))
            else:
                errs.extend(invalid(f"{p}.hostPort", hport, m) for m in is_valid_port_num(hport))
        protocol = port.get("protocol") or ""
        if not protocol:
            errs.append(required(f"{p}.protocol"))
        elif protocol not in PORT_PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", protocol, PORT_PROTOCOLS))
    return errs


def _validate_env(env: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, var in dicts(env):
        p = f"{path}[{i}]"
        name = var.get("name") or ""
        if not name:
            errs.append(required(f"{p}.name"))
        errs.extend(invalid(f"{p}.name", name, m) for m in is_env_var_name(str(name)))
        value_from = var.get("valueFrom")
        if value_from is not None:
            sources = sum(1 for k in _ENV_SOURCES if as_map(value_from).get(k) is not None)
            vp = f"{p}.valueFrom"
            if sources == 0:
                errs.append(
                    invalid(
                        vp,
                        "",
                        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                        "or `secretKeyRef`",
                    )
                )
            elif var.get("value"):
                errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
            elif sources > 1:
                errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def _validate_volume_mounts(mounts: Any, volumes: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    paths: set[str] = set()
    for i, mount in dicts(mounts):
        p = f"{path}[{i}]"
        name = mount.get("name") or ""
        if not name:
            errs.append(required(f"{p}.name"))
        elif name not in volumes:
            errs.append(not_found(f"{p}.name", name))
        mount_path = mount.get("mountPath") or ""
        if not mount_path:
            errs.append(required(f"{p}.mountPath"))
        elif mount_path in paths:
            errs.append(invalid(f"{p}.mountPath", mount_path, "must be unique"))
        else:
            paths.add(mount_path)
    return errs


def _validate_container_common(
    c: Mapping[str, Any], volumes: set[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = c.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name"))
    else:
        errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_label(str(name)))
    if not c.get("image"):
        errs.append(required(f"{path}.image"))
    policy = c.get("terminationMessagePolicy") or ""
    if not policy:
        errs.append(required(f"{path}.terminationMessagePolicy"))
    elif policy not in ("File", "FallbackToLogsOnError"):
        errs.append(
            not_supported(
                f"{path}.terminationMessagePolicy", policy, ["File", "FallbackToLogsOnError"]
            )
        )
    errs.extend(_validate_ports(c.get("ports"), f"{path}.ports"))
    errs.extend(_validate_env(c.get("env"), f"{path}.env"))
    errs.extend(_validate_volume_mounts(c.get("volumeMounts"), volumes, f"{path}.volumeMounts"))
    pull = c.get("imagePullPolicy") or ""
    if not pull:
        errs.append(required(f"{path}.imagePullPolicy"))
    elif pull not in _PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, _PULL_POLICIES))
    errs.extend(validate_resource_requirements(c.get("resources"), f"{path}.resources"))
    return errs


def _validate_image_whitespace(c: Mapping[str, Any], path: str) -> list[FieldError]:
    image = c.get("image")
    if isinstance(image, str) and image != image.strip():
        return [invalid(f"{path}.image", image, "must not have leading or trailing whitespace")]
    return []


def validate_containers(
    containers: Any, volumes: set[str], path: str, is_pod: bool
) -> list[FieldError]:
    """The regular containers: required, valid, uniquely named."""
    if not containers:
        return [required(path)]
    if not isinstance(containers, list):
        return [invalid(path, containers, "must be a list of containers")]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, c in dicts(containers):
        p = f"{path}[{i}]"
        errs.extend(_validate_container_common(c, volumes, p))
        name = c.get("name") or ""
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        else:
            names.add(name)
        if c.get("restartPolicy") is not None:
            errs.append(forbidden(f"{p}.restartPolicy", "may not be set for non-init containers"))
        if is_pod:
            errs.extend(_validate_image_whitespace(c, p))
    return errs


def validate_init_containers(
    init_containers: Any, containers: Any, volumes: set[str], path: str, is_pod: bool
) -> list[FieldError]:
    """Init containers: as containers, named uniquely among all containers; a
    ``restartPolicy`` (sidecar) may only be ``Always``."""
    errs: list[FieldError] = []
    names = {c.get("name") for _, c in dicts(containers)}
    for i, c in dicts(init_containers):
        p = f"{path}[{i}]"
        errs.extend(_validate_container_common(c, volumes, p))
        name = c.get("name") or ""
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        else:
            names.add(name)
        policy = c.get("restartPolicy")
        if policy is not None and policy != "Always":
            errs.append(not_supported(f"{p}.restartPolicy", policy, ["Always"]))
        if is_pod:
            errs.extend(_validate_image_whitespace(c, p))
    return errs
