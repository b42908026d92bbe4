"""Secret (core/v1): ``stringData`` merges into ``data``; type-specific required keys."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

from kubemu.objects.errors import FieldError, forbidden, invalid, required, too_long
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.common import Obj, as_map
from kubemu.objects.meta import get_metadata, immutable
from kubemu.objects.names import is_config_map_key

__all__ = ["MAX_SECRET_SIZE", "SECRET", "decode_data"]

MAX_SECRET_SIZE: Final = 1024 * 1024
_B64: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_REDACTED: Final = "<secret contents redacted>"


def _decode(value: Any) -> bytes:
    """A ``data`` value: bytes as they are (msgpack), a string as base64 (JSON/YAML)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not isinstance(value, str):
        raise ValueError("illegal base64 data at input byte 0")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        bad = next((i for i, c in enumerate(value) if c not in _B64), len(value))
        raise ValueError(f"illegal base64 data at input byte {bad}") from None


def decode_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    """The secret's data as bytes (undecodable values are skipped)."""
    out: dict[str, bytes] = {}
    for key, value in as_map(secret.get("data")).items():
        try:
            out[key] = _decode(value)
        except ValueError:
            continue
    return out


def default_secret(secret: Obj) -> None:
    """``type: Opaque``; ``stringData`` is written into ``data`` (as the v1 conversion does)."""
    if not secret.get("type"):
        secret["type"] = "Opaque"
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = secret.get("data")
        if not isinstance(data, dict):
            data = secret["data"] = {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _validate(secret: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    data: dict[str, bytes] = {}
    total = 0
    for key, value in as_map(secret.get("data")).items():
        errs.extend(invalid(f"data[{key}]", key, m) for m in is_config_map_key(str(key)))
        try:
            data[key] = _decode(value)
        except ValueError as e:
            errs.append(invalid(f"data[{key}]", _REDACTED, str(e)))
            continue
        total += len(data[key])
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", MAX_SECRET_SIZE))
    kind = secret.get("type", "")
    annotations = as_map(get_metadata(secret).get("annotations"))
    if kind == "kubernetes.io/service-account-token":
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif kind in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if kind == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            errs.append(required(f"data[{key}]"))
        else:
            try:
                if not isinstance(json.loads(data[key]), dict):
                    raise ValueError("json: cannot unmarshal into Go value of type map")
            except ValueError as e:
                errs.append(invalid(f"data[{key}]", _REDACTED, str(e)))
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.append(required("data[username]"))
            errs.append(required("data[password]"))
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            errs.append(required("data[ssh-privatekey]"))
    elif kind == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                errs.append(required(f"data[{key}]"))
    return errs


def _validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = immutable(new.get("type", ""), old.get("type", ""), "type")
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        if decode_data(new) != decode_data(old):
            errs.append(forbidden("data", "field is immutable when `immutable` is set"))
    return errs + _validate(new)


def _fields(secret: Mapping[str, Any]) -> dict[str, str]:
    return {"type": str(secret.get("type") or "")}


SECRET: Final = Kind(
    group="",
    version="v1",
    kind="Secret",
    plural="secrets",
    singular="secret",
    defaulter=default_secret,
    spec_validator=_validate,
    update_validator=_validate_update,
    selectable_fields=("type",),
    field_getter=_fields,
)
