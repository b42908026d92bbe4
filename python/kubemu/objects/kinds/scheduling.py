"""Scheduling fields: tolerations, taints, affinity, topology spread constraints."""

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
from kubemu.objects.kinds.common import as_list, as_map, dicts, is_int
from kubemu.objects.labels import validate_label_selector
from kubemu.objects.names import (
    label_value_errors,
    name_is_dns_label,
    name_is_dns_subdomain,
    qualified_name_errors,
)

__all__ = [
    "TAINT_EFFECTS",
    "validate_affinity",
    "validate_taints",
    "validate_tolerations",
    "validate_topology_spread_constraints",
]

TAINT_EFFECTS: Final = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_SCHEDULE_ACTIONS: Final = ("DoNotSchedule", "ScheduleAnyway")
_NODE_INCLUSION_POLICIES: Final = ("Honor", "Ignore")
_WEIGHT_RANGE: Final = "must be in the range 1-100"


def _label_name(key: Any, path: str) -> list[FieldError]:
    return [
        invalid(path, key, m) for m in qualified_name_errors(key if isinstance(key, str) else "")
    ]


def _taint_effect(effect: Any, allow_empty: bool, path: str) -> list[FieldError]:
    if not effect:
        return [] if allow_empty else [required(path)]
    if effect not in TAINT_EFFECTS:
        return [not_supported(path, effect, TAINT_EFFECTS)]
    return []


def validate_tolerations(tolerations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in dicts(tolerations):
        p = f"{path}[{i}]"
        key = t.get("key") or ""
        op = t.get("operator") or ""
        value = t.get("value") or ""
        effect = t.get("effect") or ""
        if key:
            errs.extend(_label_name(key, f"{p}.key"))
        if not key and op != "Exists":
            errs.append(
                invalid(
                    f"{p}.operator",
                    op,
                    'operator must be Exists when `key` is empty, which means "match all values '
                    'and all keys"',
                )
            )
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(
                invalid(
                    f"{p}.effect",
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if op in ("Equal", ""):
            msgs = label_value_errors(value if isinstance(value, str) else "\0")
            if msgs:
                errs.append(invalid(f"{p}.operator", value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(
                    invalid(
                        f"{p}.operator", value, "value must be empty when `operator` is 'Exists'"
                    )
                )
        else:
            errs.append(not_supported(f"{p}.operator", op, ["Equal", "Exists"]))
        if effect:
            errs.extend(_taint_effect(effect, True, f"{p}.effect"))
    return errs


def validate_taints(taints: Any, path: str) -> list[FieldError]:
    """``validateNodeTaints``: valid key/value/effect, unique by (key, effect)."""
    errs: list[FieldError] = []
    seen: set[tuple[Any, Any]] = set()
    for i, taint in dicts(taints):
        p = f"{path}[{i}]"
        key, value, effect = taint.get("key", ""), taint.get("value") or "", taint.get("effect")
        errs.extend(_label_name(key, f"{p}.key"))
        msgs = label_value_errors(value if isinstance(value, str) else "\0")
        if msgs:
            errs.append(invalid(f"{p}.value", value, ";".join(msgs)))
        errs.extend(_taint_effect(effect, False, f"{p}.effect"))
        if (key, effect) in seen:
            err = duplicate(p, struct(dict(taint)))
            errs.append(
                FieldError(
                    err.type,
                    err.field,
                    err.bad_value,
                    "taints must be unique by key and effect pair",
                )
            )
            continue
        seen.add((key, effect))
    return errs


def _node_selector_requirement(
    req: Mapping[str, Any], check_values: bool, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    op = req.get("operator", "")
    values = as_list(req.get("values"))
    if op in ("In", "NotIn"):
        if not values:
            errs.append(
                required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            )
    elif op in ("Exists", "DoesNotExist"):
        if values:
            errs.append(
                forbidden(
                    f"{path}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    elif op in ("Gt", "Lt"):
        if len(values) != 1:
            errs.append(
                required(
                    f"{path}.values",
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                )
            )
    else:
        errs.append(invalid(f"{path}.operator", op, "not a valid selector operator"))
    errs.extend(_label_name(req.get("key", ""), f"{path}.key"))
    if check_values:
        for j, v in enumerate(values):
            for m in label_value_errors(v if isinstance(v, str) else "\0"):
                errs.append(invalid(f"{path}.values[{j}]", v, m))
    return errs


def _node_field_requirement(req: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    op = req.get("operator", "")
    values = as_list(req.get("values"))
    if op in ("In", "NotIn"):
        if len(values) != 1:
            errs.append(
                required(
                    f"{path}.values",
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field "
                    "selector",
                )
            )
    else:
        errs.append(invalid(f"{path}.operator", op, "not a valid selector operator"))
    if req.get("key") != "metadata.name":
        errs.append(invalid(f"{path}.key", req.get("key", ""), "not a valid field selector key"))
    else:
        for j, v in enumerate(values):
            for m in name_is_dns_subdomain(str(v), False):
                errs.append(invalid(f"{path}.values[{j}]", v, m))
    return errs


def _node_selector_term(term: Mapping[str, Any], check_values: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for j, req in dicts(term.get("matchExpressions")):
        errs.extend(_node_selector_requirement(req, check_values, f"{path}.matchExpressions[{j}]"))
    for j, req in dicts(term.get("matchFields")):
        errs.extend(_node_field_requirement(req, f"{path}.matchFields[{j}]"))
    return errs


def _node_affinity(na: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if req is not None:
        p = f"{path}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
        terms = as_list(as_map(req).get("nodeSelectorTerms"))
        if not terms:
            errs.append(required(p, "must have at least one node selector term"))
        for i, term in dicts(terms):
            errs.extend(_node_selector_term(term, True, f"{p}[{i}]"))
    p = f"{path}.preferredDuringSchedulingIgnoredDuringExecution"
    for i, pref in dicts(na.get("preferredDuringSchedulingIgnoredDuringExecution")):
        weight = pref.get("weight")
        if not is_int(weight) or not 1 <= weight <= 100:
            errs.append(invalid(f"{p}[{i}].weight", weight, _WEIGHT_RANGE))
        errs.extend(
            _node_selector_term(as_map(pref.get("preference")), False, f"{p}[{i}].preference")
        )
    return errs


def _pod_affinity_term(term: Mapping[str, Any], path: str) -> list[FieldError]:
    errs = validate_label_selector(term.get("labelSelector"), f"{path}.labelSelector")
    errs.extend(validate_label_selector(term.get("namespaceSelector"), f"{path}.namespaceSelector"))
    for ns in as_list(term.get("namespaces")):
        for m in name_is_dns_label(str(ns), False):
            errs.append(invalid(f"{path}.namespace", ns, m))
    key = term.get("topologyKey") or ""
    if not key:
        errs.append(required(f"{path}.topologyKey", "can not be empty"))
    errs.extend(_label_name(key, f"{path}.topologyKey"))
    return errs


def _pod_affinity(pa: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    p = f"{path}.requiredDuringSchedulingIgnoredDuringExecution"
    for i, term in dicts(pa.get("requiredDuringSchedulingIgnoredDuringExecution")):
        errs.extend(_pod_affinity_term(term, f"{p}[{i}]"))
    p = f"{path}.preferredDuringSchedulingIgnoredDuringExecution"
    for i, weighted in dicts(pa.get("preferredDuringSchedulingIgnoredDuringExecution")):
        weight = weighted.get("weight")
        if not is_int(weight) or not 1 <= weight <= 100:
            errs.append(invalid(f"{p}[{i}].weight", weight, _WEIGHT_RANGE))
        errs.extend(
            _pod_affinity_term(as_map(weighted.get("podAffinityTerm")), f"{p}[{i}].podAffinityTerm")
        )
    return errs


def validate_affinity(affinity: Any, path: str) -> list[FieldError]:
    a = as_map(affinity)
    errs: list[FieldError] = []
    if a.get("nodeAffinity") is not None:
        errs.extend(_node_affinity(as_map(a["nodeAffinity"]), f"{path}.nodeAffinity"))
    if a.get("podAffinity") is not None:
        errs.extend(_pod_affinity(as_map(a["podAffinity"]), f"{path}.podAffinity"))
    if a.get("podAntiAffinity") is not None:
        errs.extend(_pod_affinity(as_map(a["podAntiAffinity"]), f"{path}.podAntiAffinity"))
    return errs


def validate_topology_spread_constraints(constraints: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    items = list(dicts(constraints))
    for n, (i, c) in enumerate(items):
        p = f"{path}[{i}]"
        skew = c.get("maxSkew")
        if not is_int(skew) or skew <= 0:
            errs.append(invalid(f"{p}.maxSkew", skew, "must be greater than zero"))
        key = c.get("topologyKey") or ""
        if not key:
            errs.append(required(f"{p}.topologyKey", "can not be empty"))
        action = c.get("whenUnsatisfiable") or ""
        if action not in _SCHEDULE_ACTIONS:
            errs.append(not_supported(f"{p}.whenUnsatisfiable", action, _SCHEDULE_ACTIONS))
        for _, other in items[n + 1 :]:
            if other.get("topologyKey") == key and other.get("whenUnsatisfiable") == action:
                errs.append(
                    duplicate(f"{p}.{{topologyKey, whenUnsatisfiable}}", f"{{{key}, {action}}}")
                )
                break
        min_domains = c.get("minDomains")
        if min_domains is not None:
            if not is_int(min_domains) or min_domains <= 0:
                errs.append(invalid(f"{p}.minDomains", min_domains, "must be greater than zero"))
            if action != "DoNotSchedule":
                errs.append(
                    invalid(
                        f"{p}.minDomains",
                        min_domains,
                        f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}",
                    )
                )
        for policy_key in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            policy = c.get(policy_key)
            if policy is not None and policy not in _NODE_INCLUSION_POLICIES:
                errs.append(not_supported(f"{p}.{policy_key}", policy, _NODE_INCLUSION_POLICIES))
        errs.extend(validate_label_selector(c.get("labelSelector"), f"{p}.labelSelector"))
    return errs
