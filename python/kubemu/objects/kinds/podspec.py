"""``PodSpec`` and ``PodTemplateSpec``: defaults and validation shared by pods and workloads."""

from __future__ import annotations

from typing import Any, Final

from kubemu.objects.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
)
from kubemu.objects.kinds.common import Obj, as_map, dicts, is_int
from kubemu.objects.kinds.containers import (
    default_container,
    validate_containers,
    validate_init_containers,
    validate_resource_requirements,
)
from kubemu.objects.kinds.scheduling import (
    validate_affinity,
    validate_tolerations,
    validate_topology_spread_constraints,
)
from kubemu.objects.labels import validate_labels
from kubemu.objects.meta import validate_annotations
from kubemu.objects.names import (
    inclusive_range_error,
    is_dns1123_label,
    is_dns1123_subdomain,
    name_is_dns_subdomain,
    qualified_name_errors,
)
from kubemu.objects.quantity import parse_quantity

__all__ = [
    "DEFAULT_SCHEDULER_NAME",
    "canonicalize_resource_list",
    "default_pod_spec",
    "default_pod_template",
    "validate_pod_spec",
    "validate_pod_template_spec",
]

DEFAULT_SCHEDULER_NAME: Final = "default-scheduler"
DEFAULT_TERMINATION_GRACE_PERIOD: Final = 30
_RESTART_POLICIES: Final = ("Always", "OnFailure", "Never")
_DNS_POLICIES: Final = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PREEMPTION_POLICIES: Final = ("PreemptLowerPriority", "Never")
_MAX_INT32: Final = 2**31 - 1
_VOLUME_SOURCES: Final = (  # in upstream's order: the first one found is the volume's type
    "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
    "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs",
    "quobyte", "downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume",
    "photonPersistentDisk", "portworxVolume", "azureDisk", "storageos", "projected", "scaleIO",
    "csi", "ephemeral", "image",
)  # fmt: skip
_DEFAULT_MODE_SOURCES: Final = ("secret", "configMap", "downwardAPI", "projected")


def canonicalize_resource_list(resources: Any) -> None:
    """Write each parsable quantity in its canonical form, as upstream's encoder does (numbers
    from YAML become strings: ``cpu: 0.5`` is stored as ``"500m"``)."""
    if isinstance(resources, dict):
        for name, value in resources.items():
            try:
                resources[name] = parse_quantity(value).canonical()
            except ValueError:
                pass  # left for validation to report


def default_pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` and the defaults of its containers and volumes."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE_PERIOD
    if not spec.get("schedulerName"):
        spec["schedulerName"] = DEFAULT_SCHEDULER_NAME
    for key in ("containers", "initContainers"):
        for _, c in dicts(spec.get(key)):
            default_container(c)
            resources = c.get("resources")
            if isinstance(resources, dict):
                canonicalize_resource_list(resources.get("limits"))
                canonicalize_resource_list(resources.get("requests"))
            if spec.get("hostNetwork") is True:
                for _, port in dicts(c.get("ports")):
                    if not port.get("hostPort") and port.get("containerPort"):
                        port["hostPort"] = port["containerPort"]
    canonicalize_resource_list(spec.get("overhead"))
    for _, volume in dicts(spec.get("volumes")):
        for source in _DEFAULT_MODE_SOURCES:
            src = volume.get(source)
            if isinstance(src, dict) and src.get("defaultMode") is None:
                src["defaultMode"] = 420  # 0644
        host_path = volume.get("hostPath")
        if isinstance(host_path, dict) and host_path.get("type") is None:
            host_path["type"] = ""


def default_pod_template(template: Any) -> None:
    """Defaults of a workload's pod template (the pod-only defaults come when pods are made)."""
    if isinstance(template, dict):
        spec = template.get("spec")
        if isinstance(spec, dict):
            default_pod_spec(spec)


def _validate_volumes(volumes: Any, path: str) -> tuple[set[str], list[FieldError]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, vol in dicts(volumes):
        p = f"{path}[{i}]"
        own: list[FieldError] = []
        sources = [k for k in _VOLUME_SOURCES if vol.get(k) is not None]
        if not sources:
            own.append(required(p, "must specify a volume type"))
        for extra in sources[1:]:
            own.append(forbidden(f"{p}.{extra}", "may not specify more than 1 volume type"))
        name = vol.get("name") or ""
        if not name:
            own.append(required(f"{p}.name"))
        else:
            own.extend(invalid(f"{p}.name", name, m) for m in is_dns1123_label(str(name)))
        if name in names:
            own.append(duplicate(f"{p}.name", name))
        if not own:
            names.add(name)
        errs.extend(own)
    return names, errs


def validate_pod_spec(spec: Any, path: str, is_pod: bool) -> list[FieldError]:
    """``ValidatePodSpec`` (with the pod-only container checks when ``is_pod``)."""
    s = as_map(spec)
    errs: list[FieldError] = []
    if s.get("terminationGracePeriodSeconds") is None:
        errs.append(required(f"{path}.terminationGracePeriodSeconds"))
    volumes, vol_errs = _validate_volumes(s.get("volumes"), f"{path}.volumes")
    errs.extend(vol_errs)
    errs.extend(validate_containers(s.get("containers"), volumes, f"{path}.containers", is_pod))
    errs.extend(
        validate_init_containers(
            s.get("initContainers"),
            s.get("containers"),
            volumes,
            f"{path}.initContainers",
            is_pod,
        )
    )
    if s.get("hostNetwork") is True:
        for i, c in dicts(s.get("containers")):
            for j, port in dicts(c.get("ports")):
                hp, cp = port.get("hostPort") or 0, port.get("containerPort") or 0
                if (is_pod or hp != 0) and hp != cp:
                    errs.append(
                        invalid(
                            f"{path}.containers[{i}].ports[{j}].hostPort",
                            hp,
                            "must match `containerPort` when `hostNetwork` is true",
                        )
                    )
    restart = s.get("restartPolicy") or ""
    if not restart:
        errs.append(required(f"{path}.restartPolicy"))
    elif restart not in _RESTART_POLICIES:
        errs.append(not_supported(f"{path}.restartPolicy", restart, _RESTART_POLICIES))
    dns = s.get("dnsPolicy") or ""
    if not dns:
        errs.append(required(f"{path}.dnsPolicy"))
    elif dns not in _DNS_POLICIES:
        errs.append(not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES))
    errs.extend(validate_labels(s.get("nodeSelector"), f"{path}.nodeSelector"))
    errs.extend(validate_affinity(s.get("affinity"), f"{path}.affinity"))
    seen_gates: set[str] = set()
    for i, gate in dicts(s.get("schedulingGates")):
        name = gate.get("name") or ""
        errs.extend(
            invalid(f"{path}.schedulingGates[{i}]", name, m) for m in qualified_name_errors(name)
        )
        if name in seen_gates:
            errs.append(duplicate(f"{path}.schedulingGates[{i}]", name))
        seen_gates.add(name)
    errs.extend(
        validate_topology_spread_constraints(
            s.get("topologySpreadConstraints"), f"{path}.topologySpreadConstraints"
        )
    )
    for key, check in (
        ("serviceAccountName", name_is_dns_subdomain),
        ("nodeName", name_is_dns_subdomain),
    ):
        value = s.get(key)
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in check(str(value), False))
    deadline = s.get("activeDeadlineSeconds")
    if deadline is not None and (not is_int(deadline) or not 1 <= deadline <= _MAX_INT32):
        errs.append(
            invalid(f"{path}.activeDeadlineSeconds", deadline, inclusive_range_error(1, _MAX_INT32))
        )
    for key in ("hostname", "subdomain"):
        value = s.get(key)
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in is_dns1123_label(str(value)))
    if s.get("tolerations"):
        errs.extend(validate_tolerations(s.get("tolerations"), f"{path}.tolerations"))
    priority_class = s.get("priorityClassName")
    if priority_class:
        errs.extend(
            invalid(f"{path}.priorityClassName", priority_class, m)
            for m in is_dns1123_subdomain(str(priority_class))
        )
    preemption = s.get("preemptionPolicy")
    if preemption is not None and preemption not in _PREEMPTION_POLICIES:
        errs.append(not_supported(f"{path}.preemptionPolicy", preemption, _PREEMPTION_POLICIES))
    if s.get("overhead") is not None:
        errs.extend(validate_resource_requirements({"limits": s["overhead"]}, f"{path}.overhead"))
    return errs


def validate_pod_template_spec(template: Any, path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec``: template labels and annotations, then the pod spec."""
    if not isinstance(template, dict):
        return [required(path)]
    meta = as_map(template.get("metadata"))
    errs = validate_labels(meta.get("labels"), f"{path}.labels")
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    spec = template.get("spec")
    errs.extend(validate_pod_spec(spec, f"{path}.spec", is_pod=False))
    if as_map(spec).get("ephemeralContainers"):
        errs.append(
            forbidden(
                f"{path}.spec.ephemeralContainers",
                "ephemeral containers not allowed in pod template",
            )
        )
    return errs
