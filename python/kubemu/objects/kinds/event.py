"""Event (core/v1), validated as upstream's legacy event validation for ``v1`` requests.

Events expire: :attr:`~kubemu.objects.kinds.Kind.ttl_seconds` is the apiserver's default
``--event-ttl`` (1 h)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError, invalid, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_map
from kubemu.objects.meta import get_metadata
from kubemu.objects.names import (
    is_dns1123_subdomain,
    qualified_name_errors,
    validate_path_segment_name,
)

__all__ = ["EVENT"]

_REPORTING_INSTANCE_LIMIT: Final = 128
_ACTION_LIMIT: Final = 128
_REASON_LIMIT: Final = 128
_NOTE_LIMIT: Final = 1024
_INVOLVED: Final = (
    "kind",
    "namespace",
    "name",
    "uid",
    "apiVersion",
    "resourceVersion",
    "fieldPath",
)


def _validate(event: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = get_metadata(event).get("namespace") or ""
    involved = as_map(event.get("involvedObject"))
    involved_ns = involved.get("namespace") or ""
    mismatch = invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
    if not event.get("eventTime"):
        if not involved_ns:
            if namespace not in ("", "default"):
                errs.append(mismatch)
        elif namespace != involved_ns:
            errs.append(mismatch)
    else:
        if not involved_ns and namespace not in ("default", "kube-system"):
            errs.append(mismatch)
        controller = event.get("reportingComponent") or ""
        if not controller:
            errs.append(required("reportingComponent"))
        errs.extend(
            invalid("reportingComponent", controller, m) for m in qualified_name_errors(controller)
        )
        for key, limit in (
            ("reportingInstance", _REPORTING_INSTANCE_LIMIT),
            ("action", _ACTION_LIMIT),
            ("reason", _REASON_LIMIT),
        ):
            value = event.get(key) or ""
            if not value:
                errs.append(required(key))
            if len(value) > limit:
                errs.append(invalid(key, "", f"can have at most {limit} characters"))
        if len(event.get("message") or "") > _NOTE_LIMIT:
            errs.append(invalid("message", "", f"can have at most {_NOTE_LIMIT} characters"))
    errs.extend(invalid("namespace", namespace, m) for m in is_dns1123_subdomain(namespace))
    return errs


def _fields(event: Mapping[str, Any]) -> dict[str, str]:
    involved = as_map(event.get("involvedObject"))
    source = as_map(event.get("source")).get("component") or event.get("reportingComponent") or ""
    fields = {f"involvedObject.{key}": str(involved.get(key) or "") for key in _INVOLVED}
    fields.update(
        {
            "reason": str(event.get("reason") or ""),
            "reportingComponent": str(event.get("reportingComponent") or ""),
            "source": str(source),
            "type": str(event.get("type") or ""),
        }
    )
    return fields


EVENT: Final = Kind(
    group="",
    version="v1",
    kind="Event",
    plural="events",
    singular="event",
    short_names=("ev",),
    name_fn=validate_path_segment_name,
    spec_validator=_validate,
    kube_finalizers=False,
    ttl_seconds=3600,
    selectable_fields=(
        *(f"involvedObject.{key}" for key in _INVOLVED),
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    field_getter=_fields,
)
