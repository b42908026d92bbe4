"""Printing objects as kubectl does: ``-o json|yaml|name|wide`` and the default table.

Tables have kubectl's columns for pods (NAME READY STATUS RESTARTS AGE; wide adds IP and
NODE), nodes (NAME STATUS ROLES AGE VERSION; wide adds INTERNAL-IP), deployments (NAME READY
UP-TO-DATE AVAILABLE AGE; wide adds CONTAINERS IMAGES SELECTOR), namespaces (NAME STATUS AGE),
services (NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE; wide adds SELECTOR), configmaps (NAME
DATA AGE) and secrets (NAME TYPE DATA AGE), NAME and AGE for other kinds, and a leading
NAMESPACE column when listing across namespaces.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from kubemu.objects.kinds.base import Kind

__all__ = ["OUTPUT_FORMATS", "human_duration", "object_name", "render", "table"]

Obj = dict[str, Any]
OUTPUT_FORMATS = ("json", "yaml", "name", "wide")


def human_duration(seconds: float) -> str:
    """kubectl's age (``duration.HumanDuration``): 45s, 2m30s, 15m, 5h10m, 20h, 3d4h, 30d, 2y."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        return f"{h // (24 * 365)}y{(h // 24) % 365}d"
    return f"{h // (24 * 365)}y"


def _age(obj: Obj, now: datetime) -> str:
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    try:
        created = datetime.strptime(str(ts), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    return human_duration((now - created).total_seconds())


def object_name(kind: Kind, obj: Obj) -> str:
    """``pod/x``, ``deployment.apps/x`` (``-o name``)."""
    prefix = f"{kind.singular}.{kind.group}" if kind.group else kind.singular
    return f"{prefix}/{(obj.get('metadata') or {}).get('name', '')}"


def _pod_columns(pod: Obj, wide: bool) -> list[str]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    containers = spec.get("containers") or []
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for c in statuses:
        state = c.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    cols = [f"{ready}/{len(containers)}", str(reason), str(restarts)]
    return cols


def _pod_wide(pod: Obj) -> list[str]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    return [status.get("podIP") or "<none>", spec.get("nodeName") or "<none>"]


def _node_columns(node: Obj, wide: bool) -> list[str]:
    status = node.get("status") or {}
    state = "Unknown"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            state = {"True": "Ready", "False": "NotReady"}.get(cond.get("status"), "Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = (node.get("metadata") or {}).get("labels") or {}
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in labels if k.startswith(prefix) and k != prefix)
    return [state, ",".join(roles) or "<none>"]


def _node_after_age(node: Obj) -> list[str]:
    return [str(((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""))]


def _node_wide(node: Obj) -> list[str]:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return [str(a.get("address", ""))]
    return ["<none>"]


def _deployment_columns(d: Obj, wide: bool) -> list[str]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    replicas = spec.get("replicas", 1)
    return [
        f"{status.get('readyReplicas', 0)}/{replicas}",
        str(status.get("updatedReplicas", 0)),
        str(status.get("availableReplicas", 0)),
    ]


def _deployment_wide(d: Obj) -> list[str]:
    spec = d.get("spec") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return [
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
    ]


def _namespace_columns(ns: Obj, wide: bool) -> list[str]:
    return [str((ns.get("status") or {}).get("phase") or "Active")]


def _service_columns(svc: Obj, wide: bool) -> list[str]:
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    stype = str(spec.get("type") or "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if stype == "LoadBalancer":
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        external += [str(i.get("ip") or i.get("hostname") or "") for i in ingress]
        shown_external = ",".join(external) or "<pending>"
    elif stype == "ExternalName":
        shown_external = str(spec.get("externalName") or "<none>")
    else:
        shown_external = ",".join(external) or "<none>"
    ports = []
    for port in spec.get("ports") or []:
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port', '')}{node_port}/{port.get('protocol') or 'TCP'}")
    return [
        stype,
        str(spec.get("clusterIP") or "<none>"),
        shown_external,
        ",".join(ports) or "<none>",
    ]


def _service_wide(svc: Obj) -> list[str]:
    selector = (svc.get("spec") or {}).get("selector") or {}
    return [",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"]


def _data_count(obj: Obj) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _configmap_columns(cm: Obj, wide: bool) -> list[str]:
    return [str(_data_count(cm))]


def _secret_columns(secret: Obj, wide: bool) -> list[str]:
    return [str(secret.get("type") or "Opaque"), str(_data_count(secret))]


# kind → (headers before AGE, columns before AGE, headers after AGE, columns after AGE,
#         wide headers, wide columns)
_Columns = tuple[
    list[str],
    Callable[[Obj, bool], list[str]],
    list[str],
    Callable[[Obj], list[str]] | None,
    list[str],
    Callable[[Obj], list[str]] | None,
]
_TABLES: dict[str, _Columns] = {
    "Pod": (["READY", "STATUS", "RESTARTS"], _pod_columns, [], None, ["IP", "NODE"], _pod_wide),
    "Node": (
        ["STATUS", "ROLES"],
        _node_columns,
        ["VERSION"],
        _node_after_age,
        ["INTERNAL-IP"],
        _node_wide,
    ),
    "Namespace": (["STATUS"], _namespace_columns, [], None, [], None),
    "Service": (
        ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"],
        _service_columns,
        [],
        None,
        ["SELECTOR"],
        _service_wide,
    ),
    "ConfigMap": (["DATA"], _configmap_columns, [], None, [], None),
    "Secret": (["TYPE", "DATA"], _secret_columns, [], None, [], None),
    "Deployment": (
        ["READY", "UP-TO-DATE", "AVAILABLE"],
        _deployment_columns,
        [],
        None,
        ["CONTAINERS", "IMAGES", "SELECTOR"],
        _deployment_wide,
    ),
}


def table(
    kind: Kind,
    objs: Sequence[Obj],
    *,
    wide: bool = False,
    with_namespace: bool = False,
    now: datetime | None = None,
) -> str:
    """The objects as kubectl's table (columns separated by 3 spaces, left-aligned)."""
    now = now or datetime.now(UTC)
    before, cols, after, after_cols, wide_headers, wide_cols = _TABLES.get(
        kind.kind, ([], lambda _o, _w: [], [], None, [], None)
    )
    headers = ["NAME", *before, "AGE", *after]
    if wide:
        headers += wide_headers
    if with_namespace:
        headers = ["NAMESPACE", *headers]
    rows = [headers]
    for obj in objs:
        meta = obj.get("metadata") or {}
        row = [str(meta.get("name", "")), *cols(obj, wide), _age(obj, now)]
        if after_cols is not None:
            row += after_cols(obj)
        if wide and wide_cols is not None:
            row += wide_cols(obj)
        if with_namespace:
            row = [str(meta.get("namespace", "")), *row]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def render(
    kind: Kind,
    objs: Sequence[Obj],
    output: str | None,
    *,
    single: bool = False,
    with_namespace: bool = False,
) -> str:
    """What ``kubemu get`` prints: one object as itself, several as a ``List`` (json/yaml)."""
    if output in ("json", "yaml"):
        doc: Any = (
            objs[0]
            if single
            else {
                "apiVersion": "v1",
                "items": list(objs),
                "kind": "List",
                "metadata": {"resourceVersion": ""},
            }
        )
        if output == "json":
            return json.dumps(doc, indent=4)
        return yaml.safe_dump(doc, default_flow_style=False, sort_keys=True).rstrip("\n")
    if output == "name":
        return "\n".join(object_name(kind, o) for o in objs)
    return table(kind, objs, wide=output == "wide", with_namespace=with_namespace)
