"""Job (batch/v1): defaults, the generated selector, validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError, invalid, not_supported, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import (
    Obj,
    as_map,
    get_int,
    label_selector_or_none,
    selector_matches_template,
)
from kubemu.objects.kinds.podspec import default_pod_template, validate_pod_template_spec
from kubemu.objects.kinds.workload import selector_immutable
from kubemu.objects.labels import validate_label_selector
from kubemu.objects.meta import FIELD_IMMUTABLE, get_metadata, nonnegative

__all__ = ["CONTROLLER_UID_LABEL", "JOB", "JOB_NAME_LABEL"]

JOB_NAME_LABEL: Final = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL: Final = "batch.kubernetes.io/controller-uid"
_LEGACY_JOB_NAME_LABEL: Final = "job-name"
_LEGACY_CONTROLLER_UID_LABEL: Final = "controller-uid"
_COMPLETION_MODES: Final = ("NonIndexed", "Indexed")
_MAX_INT32: Final = 2**31 - 1


def default_job(job: Obj) -> None:
    spec = job.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = _MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    template = spec.get("template")
    labels = as_map(template.get("metadata")).get("labels") if isinstance(template, dict) else None
    meta = job.setdefault("metadata", {})
    if labels and not meta.get("labels"):
        meta["labels"] = dict(labels)
    if spec.get("completionMode") is None:
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("podReplacementPolicy") is None:
        failed = spec.get("podFailurePolicy") is not None
        spec["podReplacementPolicy"] = "Failed" if failed else "TerminatingOrFailed"
    default_pod_template(template)


def _generate_selector(job: Obj) -> None:
    """``generateSelector``: the job-name and controller-uid labels on the template, and a
    selector on the controller-uid (unless ``spec.manualSelector``)."""
    spec = job.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    meta = get_metadata(job)
    template = spec.get("template")
    if not isinstance(template, dict):
        return
    tmeta = template.setdefault("metadata", {})
    labels = tmeta.get("labels")
    if not isinstance(labels, dict):
        labels = tmeta["labels"] = {}
    name, uid = meta.get("name", ""), meta.get("uid", "")
    for key in (_LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, name)
    for key in (_LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, uid)
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        selector = spec["selector"] = {}
    match_labels = selector.get("matchLabels")
    if not isinstance(match_labels, dict):
        match_labels = selector["matchLabels"] = {}
    match_labels.setdefault(CONTROLLER_UID_LABEL, uid)


def _validate(job: Obj) -> list[FieldError]:
    spec = as_map(job.get("spec"))
    errs: list[FieldError] = []
    selector = spec.get("selector")
    if selector is None:
        errs.append(required("spec.selector"))
    else:
        errs.extend(validate_label_selector(selector, "spec.selector"))
    template = as_map(spec.get("template"))
    parsed = label_selector_or_none(selector)
    if parsed is not None and parsed.nothing:
        errs.append(
            invalid(
                "spec.template.metadata.labels",
                as_map(template.get("metadata")).get("labels") or {},
                "`selector` does not match template `labels`",
            )
        )
    else:
        errs.extend(selector_matches_template(parsed, template, "spec.template"))
    errs.extend(validate_pod_template_spec(spec.get("template"), "spec.template"))
    policy = as_map(template.get("spec")).get("restartPolicy", "")
    path = "spec.template.spec.restartPolicy"
    if policy in ("Always", ""):
        errs.append(required(path, 'valid values: "OnFailure", "Never"'))
    elif policy not in ("OnFailure", "Never"):
        errs.append(not_supported(path, policy, ["OnFailure", "Never"]))
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                "ttlSecondsAfterFinished"):  # fmt: skip
        errs.extend(nonnegative(get_int(spec, key, "spec", errs), f"spec.{key}"))
    mode = spec.get("completionMode")
    if mode is not None:
        if mode not in _COMPLETION_MODES:
            errs.append(not_supported("spec.completionMode", mode, _COMPLETION_MODES))
        if mode == "Indexed" and spec.get("completions") is None:
            errs.append(required("spec.completions", "when completion mode is Indexed"))
    return errs


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = _validate(new) + selector_immutable(new, old)
    spec, old_spec = as_map(new.get("spec")), as_map(old.get("spec"))
    for key in ("completionMode", "completions"):
        if spec.get(key) != old_spec.get(key):
            errs.append(invalid(f"spec.{key}", spec.get(key), FIELD_IMMUTABLE))
    suspended = old_spec.get("suspend") is True and not as_map(old.get("status")).get("startTime")
    if not suspended and spec.get("template") != old_spec.get("template"):
        errs.append(invalid("spec.template", spec.get("template"), FIELD_IMMUTABLE))
    return errs


def _fields(job: Mapping[str, Any]) -> dict[str, str]:
    return {"status.successful": str(as_map(job.get("status")).get("succeeded") or 0)}


JOB: Final = Kind(
    group="batch",
    version="v1",
    kind="Job",
    plural="jobs",
    singular="job",
    has_status=True,
    has_generation=True,
    defaulter=default_job,
    spec_validator=_validate,
    update_validator=_validate_update,
    on_create=_generate_selector,
    selectable_fields=("status.successful",),
    field_getter=_fields,
)
