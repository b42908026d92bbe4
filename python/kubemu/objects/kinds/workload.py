"""Pieces shared by the kinds that own pods through a template (RS, RC, Deployment, DaemonSet,
Job)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubemu.objects.errors import (
    FieldError,
    forbidden,
    invalid,
    not_supported,
    required,
    struct,
)
from kubemu.objects.kinds.common import (
    as_map,
    get_int,
    label_selector_or_none,
    selector_matches_template,
)
from kubemu.objects.kinds.podspec import validate_pod_template_spec
from kubemu.objects.labels import validate_label_selector
from kubemu.objects.meta import immutable, nonnegative

__all__ = [
    "replica_status_errors",
    "selector_immutable",
    "validate_selector_and_template",
]


def validate_selector_and_template(
    spec: Mapping[str, Any], path: str, owner: str, empty_word: str
) -> list[FieldError]:
    """A ``LabelSelector`` that is set, valid, non-empty and matches the template labels, and
    a template of pods that restart ``Always`` without ``activeDeadlineSeconds``
    (``ValidatePodTemplateSpecForReplicaSet``). ``owner`` and ``empty_word`` word the errors
    as upstream does per kind."""
    errs: list[FieldError] = []
    selector = spec.get("selector")
    if selector is None:
        errs.append(required(f"{path}.selector"))
    else:
        errs.extend(validate_label_selector(selector, f"{path}.selector"))
        sel = as_map(selector)
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.append(
                invalid(
                    f"{path}.selector",
                    struct(selector),
                    f"empty selector is invalid for {empty_word}",
                )
            )
    parsed = label_selector_or_none(selector)
    if selector is not None and parsed is None:
        errs.append(invalid(f"{path}.selector", struct(selector), "invalid label selector"))
        return errs
    template = spec.get("template")
    tpath = f"{path}.template"
    if not isinstance(template, Mapping):
        errs.append(required(tpath))
        return errs
    errs.extend(selector_matches_template(parsed, template, tpath))
    errs.extend(validate_pod_template_spec(template, tpath))
    tspec = as_map(template.get("spec"))
    policy = tspec.get("restartPolicy", "")
    if policy != "Always":
        errs.append(not_supported(f"{tpath}.spec.restartPolicy", policy, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                f"{tpath}.spec.activeDeadlineSeconds",
                f"activeDeadlineSeconds in {owner} is not Supported",
            )
        )
    return errs


def selector_immutable(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """apps/v1 and batch/v1 selectors cannot change after create."""
    return immutable(
        as_map(new.get("spec")).get("selector"),
        as_map(old.get("spec")).get("selector"),
        "spec.selector",
    )


def replica_status_errors(obj: Mapping[str, Any]) -> list[FieldError]:
    """``ValidateReplicaSetStatus`` / ``ValidateReplicationControllerStatus``."""
    status = as_map(obj.get("status"))
    errs: list[FieldError] = []
    counts = {}
    for key in (
        "replicas",
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
        "observedGeneration",
    ):
        value = get_int(status, key, "status", errs)
        errs.extend(nonnegative(value, f"status.{key}"))
        counts[key] = value or 0
    msg = "cannot be greater than status.replicas"
    for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if counts[key] > counts["replicas"]:
            errs.append(invalid(f"status.{key}", counts[key], msg))
    if counts["availableReplicas"] > counts["readyReplicas"]:
        errs.append(
            invalid(
                "status.availableReplicas",
                counts["availableReplicas"],
                "cannot be greater than readyReplicas",
            )
        )
    return errs
