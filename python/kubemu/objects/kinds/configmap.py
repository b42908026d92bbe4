"""ConfigMap (core/v1)."""

from __future__ import annotations

from typing import Any, Final

from kubemu.objects.errors import FieldError, forbidden, invalid, too_long
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_map
from kubemu.objects.names import is_config_map_key

__all__ = ["CONFIG_MAP"]

_MAX_SIZE: Final = 1024 * 1024


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode())
    if isinstance(value, bytes | bytearray):
        return len(value)
    return 0


def _validate(cm: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    data, binary = as_map(cm.get("data")), as_map(cm.get("binaryData"))
    total = 0
    for key, value in data.items():
        errs.extend(invalid(f"data[{key}]", key, m) for m in is_config_map_key(str(key)))
        if key in binary:
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        total += _size(value)
    for key, value in binary.items():
        errs.extend(invalid(f"binaryData[{key}]", key, m) for m in is_config_map_key(str(key)))
        # A JSON/YAML string is base64: count the decoded size.
        total += len(value) * 3 // 4 if isinstance(value, str) else _size(value)
    if total > _MAX_SIZE:
        errs.append(too_long("", _MAX_SIZE))
    return errs


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    if old.get("immutable") is True:
        msg = "field is immutable when `immutable` is set"
        if new.get("immutable") is not True:
            errs.append(forbidden("immutable", msg))
        for key in ("data", "binaryData"):
            if (new.get(key) or {}) != (old.get(key) or {}):
                errs.append(forbidden(key, msg))
    return errs + _validate(new)


CONFIG_MAP: Final = Kind(
    group="",
    version="v1",
    kind="ConfigMap",
    plural="configmaps",
    singular="configmap",
    short_names=("cm",),
    spec_validator=_validate,
    update_validator=_validate_update,
)
