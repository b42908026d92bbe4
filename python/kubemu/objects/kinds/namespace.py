"""Namespace (core/v1): the ``kubernetes`` finalizer, the ``kubernetes.io/metadata.name`` label,
phase ``Active``/``Terminating``, and the ``finalize`` subresource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError, invalid
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_list, as_map
from kubemu.objects.meta import (
    STANDARD_FINALIZERS,
    get_metadata,
    prepare_update,
    validate_object_meta_update,
)
from kubemu.objects.names import name_is_dns_label, qualified_name_errors

__all__ = ["METADATA_NAME_LABEL", "NAMESPACE", "prepare_for_finalize", "validate_finalize"]

METADATA_NAME_LABEL: Final = "kubernetes.io/metadata.name"


def _set_name_label(ns: Obj) -> None:
    meta = get_metadata(ns)
    name = meta.get("name")
    if name:
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels[METADATA_NAME_LABEL] = name


def default_namespace(ns: Obj) -> None:
    _set_name_label(ns)
    status = ns.get("status")
    if not isinstance(status, dict):
        status = ns["status"] = {}
    if not status.get("phase"):
        status["phase"] = "Active"


def _finalizer_errors(finalizers: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    for f in as_list(finalizers):
        name = f if isinstance(f, str) else ""
        errs.extend(invalid("spec.finalizers", f, m) for m in qualified_name_errors(name))
        if "/" not in name and name not in STANDARD_FINALIZERS:
            errs.append(
                invalid(
                    "spec.finalizers",
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            )
    return errs


def _validate(ns: Obj) -> list[FieldError]:
    return _finalizer_errors(as_map(ns.get("spec")).get("finalizers"))


def _on_create(ns: Obj) -> None:
    spec = ns.get("spec")
    if not isinstance(spec, dict):
        spec = ns["spec"] = {}
    finalizers = spec.get("finalizers")
    if not isinstance(finalizers, list):
        finalizers = spec["finalizers"] = []
    if "kubernetes" not in finalizers:
        finalizers.append("kubernetes")
    _set_name_label(ns)


def _on_update(new: Obj, old: Obj) -> None:
    """The finalizers change only through ``finalize``."""
    spec = new.get("spec")
    if not isinstance(spec, dict):
        spec = new["spec"] = {}
    old_spec = as_map(old.get("spec"))
    if "finalizers" in old_spec:
        spec["finalizers"] = old_spec["finalizers"]
    else:
        spec.pop("finalizers", None)
    _set_name_label(new)


def _validate_status(new: Obj, old: Obj) -> list[FieldError]:
    phase = as_map(new.get("status")).get("phase", "")
    if not get_metadata(new).get("deletionTimestamp"):
        if phase != "Active":
            return [
                invalid(
                    "status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty"
                )
            ]
    elif phase != "Terminating":
        return [
            invalid(
                "status.Phase",
                phase,
                "may only be 'Terminating' if `deletionTimestamp` is not empty",
            )
        ]
    return []


def prepare_for_finalize(new: Obj, old: Obj) -> None:
    """The ``namespaces/finalize`` subresource changes only ``spec.finalizers``."""
    prepare_update(new, old)
    if "status" in old:
        new["status"] = old["status"]
    _set_name_label(new)


def validate_finalize(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    return errs + _finalizer_errors(as_map(new.get("spec")).get("finalizers"))


def _fields(ns: Mapping[str, Any]) -> dict[str, str]:
    return {"status.phase": as_map(ns.get("status")).get("phase") or ""}


NAMESPACE: Final = Kind(
    group="",
    version="v1",
    kind="Namespace",
    plural="namespaces",
    singular="namespace",
    short_names=("ns",),
    namespaced=False,
    has_status=True,
    name_fn=name_is_dns_label,
    defaulter=default_namespace,
    spec_validator=_validate,
    update_validator=lambda new, old: [],
    status_validator=_validate_status,
    on_create=_on_create,
    on_update=_on_update,
    on_status_update=lambda new, old: _set_name_label(new),
    initial_status=lambda ns: {"phase": "Active"},
    selectable_fields=("status.phase",),
    field_getter=_fields,
)
