"""``ObjectMeta``: validation, system fields, timestamps, resourceVersions.

Validation follows ``apimachinery/pkg/api/validation/objectmeta.go`` plus the core group's extra
finalizer rule (a finalizer without ``/`` must be a standard one). The ``prepare_*`` helpers do
what upstream's ``rest.BeforeCreate`` / ``BeforeUpdate`` do to metadata; the kinds call them from
:meth:`kubemu.objects.kinds.Kind.prepare_for_create` / ``prepare_for_update``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

import msgpack  # type: ignore[import-untyped]

from kubemu.objects.errors import (
    FieldError,
    StatusError,
    forbidden,
    go_value,
    invalid,
    required,
    struct,
    too_long,
)
from kubemu.objects.labels import validate_labels
from kubemu.objects.names import (
    NameFn,
    generate_name,
    name_is_dns_label,
    qualified_name_errors,
)

__all__ = [
    "FIELD_IMMUTABLE",
    "STANDARD_FINALIZERS",
    "TOTAL_ANNOTATION_SIZE_LIMIT",
    "check_create_resource_version",
    "ensure_namespace",
    "get_metadata",
    "immutable",
    "new_uid",
    "nonnegative",
    "now_rfc3339",
    "now_rfc3339_micro",
    "parse_resource_version",
    "prepare_create",
    "prepare_for_storage",
    "prepare_update",
    "resource_version",
    "set_resource_version",
    "validate_annotations",
    "validate_finalizers",
    "validate_labels",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_owner_references",
]

Obj = dict[str, Any]

TOTAL_ANNOTATION_SIZE_LIMIT: Final = 256 * 1024
FIELD_IMMUTABLE: Final = "field is immutable"
IS_NEGATIVE: Final = "must be greater than or equal to 0"
STANDARD_FINALIZERS: Final = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
_BANNED_OWNERS: Final = frozenset({("", "v1", "Event")})


_last_second: list[Any] = [None, ""]
"""The last second :func:`now_rfc3339` formatted, and its text (writes within a second share
it; formatting costs ~3 µs)."""


def now_rfc3339(now: float | None = None) -> str:
    """A ``metav1.Time`` as Kubernetes writes it: UTC, second precision (``...T10:00:00Z``)."""
    t = time.time() if now is None else now
    second = math.floor(t)
    cached = _last_second
    if cached[0] == second:
        text: str = cached[1]
        return text
    text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cached[0], cached[1] = second, text
    return text


def now_rfc3339_micro(now: float | None = None) -> str:
    """A ``metav1.MicroTime`` (leases, events): ``...T10:00:00.123456Z``."""
    t = time.time() if now is None else now
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_UID_POOL = 256
_uid_bytes: list[str] = []


def new_uid() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` but 5x cheaper: random bytes
    are read from the OS for 256 UIDs at a time."""
    pool = _uid_bytes
    if not pool:
        raw = os.urandom(16 * _UID_POOL).hex()
        pool.extend(raw[i : i + 32] for i in range(0, len(raw), 32))
    h = pool.pop()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT: Final = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
os.register_at_fork(after_in_child=_uid_bytes.clear)  # a forked child must not reuse the pool


def get_metadata(obj: Obj) -> Obj:
    """``obj["metadata"]``, created empty if missing."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def nonnegative(value: Any, path: str) -> list[FieldError]:
    """``ValidateNonnegativeField``."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, IS_NEGATIVE)]
    return []


def immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    """``ValidateImmutableField``: ``field is immutable`` when the value changed."""
    if new != old:
        shown = struct(new) if isinstance(new, Mapping | list) else new
        return [invalid(path, shown, FIELD_IMMUTABLE)]
    return []


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    """Keys are qualified names (case-insensitive); keys + values ≤ 256 KiB in all."""
    if annotations is None:
        return []
    if not isinstance(annotations, Mapping):
        return [invalid(path, annotations, "must be a map of string keys to string values")]
    errs: list[FieldError] = []
    total = 0
    for k, v in annotations.items():
        if not isinstance(k, str) or not isinstance(v, str):
            errs.append(invalid(path, v, "must be a map of string keys to string values"))
            continue
        for msg in qualified_name_errors(k.lower()):
            errs.append(invalid(path, k, msg))
        total += len(k) if k.isascii() else len(k.encode())
        total += len(v) if v.isascii() else len(v.encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def _split_api_version(api_version: str) -> tuple[str, str]:
    """``schema.ParseGroupVersion``, with an unparsable value as empty."""
    if not api_version:
        return "", ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", ""


def validate_owner_references(refs: Any, path: str) -> list[FieldError]:
    if not refs:
        return []
    if not isinstance(refs, list):
        return [invalid(path, refs, "must be a list of owner references")]
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs:
        if not isinstance(ref, Mapping):
            errs.append(invalid(path, ref, "must be an owner reference"))
            continue
        group, version = _split_api_version(ref.get("apiVersion", ""))
        kind = ref.get("kind", "")
        if not version:
            errs.append(
                invalid(
                    f"{path}.apiVersion", ref.get("apiVersion", ""), "version must not be empty"
                )
            )
        if not kind:
            errs.append(invalid(f"{path}.kind", kind, "must not be empty"))
        if not ref.get("name"):
            errs.append(invalid(f"{path}.name", ref.get("name", ""), "must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid(f"{path}.uid", ref.get("uid", ""), "must not be empty"))
        if (group, version, kind) in _BANNED_OWNERS:
            gvk = f"{group}/{version}, Kind={kind}"
            errs.append(
                invalid(path, struct(dict(ref)), f"{gvk} is disallowed from being an owner")
            )
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name', '')}"
            if first_controller:
                errs.append(
                    invalid(
                        path,
                        refs,
                        'Only one reference can have Controller set to true. Found "true" in '
                        f"references for {first_controller} and {current}",
                    )
                )
            else:
                first_controller = current
    return errs


def validate_finalizers(finalizers: Any, path: str, kube: bool = True) -> list[FieldError]:
    """Qualified names; orphan and foregroundDeletion exclusive; with ``kube``, a name without
    ``/`` must be a standard finalizer (the core group's extra rule)."""
    if not finalizers:
        return []
    if not isinstance(finalizers, list):
        return [invalid(path, finalizers, "must be a list of strings")]
    errs: list[FieldError] = []
    for f in finalizers:
        if not isinstance(f, str):
            errs.append(invalid(path, f, "must be a string"))
            continue
        for msg in qualified_name_errors(f):
            errs.append(invalid(path, f, msg))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set")
        )
    if kube:
        for i, f in enumerate(finalizers):
            if isinstance(f, str) and "/" not in f and f not in STANDARD_FINALIZERS:
                errs.append(
                    invalid(
                        f"{path}[{i}]",
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    )
                )
    return errs


def _str(meta: Mapping[str, Any], key: str) -> str:
    value = meta.get(key)
    return value if isinstance(value, str) else ""


def validate_object_meta(
    meta: Any,
    *,
    namespaced: bool,
    name_fn: NameFn,
    path: str = "metadata",
    kube_finalizers: bool = True,
) -> list[FieldError]:
    """``ValidateObjectMeta`` for a create (after generateName has become a name)."""
    if not isinstance(meta, Mapping):
        return [required(f"{path}.name", "name or generateName is required")]
    errs: list[FieldError] = []
    for key in ("name", "generateName", "namespace"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            errs.append(invalid(f"{path}.{key}", meta[key], "must be a string"))
    generate = _str(meta, "generateName")
    if generate:
        for msg in name_fn(generate, True):
            errs.append(invalid(f"{path}.generateName", generate, msg))
    name = _str(meta, "name")
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        for msg in name_fn(name, False):
            errs.append(invalid(f"{path}.name", name, msg))
    namespace = _str(meta, "namespace")
    if namespaced:
        if not namespace:
            errs.append(required(f"{path}.namespace"))
        else:
            for msg in _namespace_errors(namespace):
                errs.append(invalid(f"{path}.namespace", namespace, msg))
    elif namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    tail = (
        meta.get("generation"),
        meta.get("labels"),
        meta.get("annotations"),
        meta.get("ownerReferences"),
        meta.get("finalizers"),
    )
    if type(meta) is dict and all(type(v) in _PLAIN for v in tail):
        # Memoized by content: the objects of one template share labels, annotations and
        # owners. Strict msgpack bytes are an exact key (True, 1 and 1.0 differ; a tuple or
        # a subclass anywhere raises and takes the plain path).
        tail_key: tuple[str, bool, bytes] | None
        try:
            packed = msgpack.packb(list(tail), use_bin_type=True, strict_types=True)
            tail_key = (path, kube_finalizers, packed)
        except (TypeError, ValueError, OverflowError):
            tail_key = None
        if tail_key is not None and tail_key in _VALID_META_TAILS:
            return errs
        tail_errs = _validate_meta_tail(meta, path, kube_finalizers)
        if tail_key is not None and not tail_errs:  # only valid tails are kept
            if len(_VALID_META_TAILS) >= _VALID_META_TAILS_SIZE:
                _VALID_META_TAILS.clear()
            _VALID_META_TAILS.add(tail_key)
        errs.extend(tail_errs)
        return errs
    errs.extend(_validate_meta_tail(meta, path, kube_finalizers))
    return errs


_PLAIN: Final = frozenset({type(None), int, dict, list})
_VALID_META_TAILS: set[tuple[str, bool, bytes]] = set()
_VALID_META_TAILS_SIZE: Final = 4096


@lru_cache(maxsize=1024)
def _namespace_errors(namespace: str) -> tuple[str, ...]:
    return tuple(name_is_dns_label(namespace, False))


def _validate_meta_tail(
    meta: Mapping[str, Any], path: str, kube_finalizers: bool
) -> list[FieldError]:
    """Generation, labels, annotations, owners and finalizers of :func:`validate_object_meta`."""
    errs = nonnegative(meta.get("generation"), f"{path}.generation")
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), f"{path}.finalizers", kube_finalizers))
    return errs


_IMMUTABLE_META: Final = ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp")


@lru_cache(maxsize=256)
def _subpath(path: str, key: str) -> str:
    """``f"{path}.{key}"``, interned per (path, key): validation builds the same few paths
    on every request."""
    return f"{path}.{key}"


def validate_object_meta_update(
    new: Any, old: Any, path: str = "metadata", kube_finalizers: bool = True
) -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: immutable identity, labels/annotations/owners/finalizers."""
    if not isinstance(new, Mapping):
        new = {}
    if not isinstance(old, Mapping):
        old = {}
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):
        old_finalizers = set(old.get("finalizers") or ())
        extra = sorted(set(new.get("finalizers") or ()) - old_finalizers)
        if extra:
            errs.append(
                forbidden(
                    f"{path}.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {go_value(extra)}",
                )
            )
    if not new.get("resourceVersion"):
        errs.append(
            invalid(
                f"{path}.resourceVersion",
                new.get("resourceVersion", ""),
                "must be specified for an update",
            )
        )
    new_gen, old_gen = new.get("generation") or 0, old.get("generation") or 0
    if isinstance(new_gen, int) and isinstance(old_gen, int) and new_gen < old_gen:
        errs.append(invalid(f"{path}.generation", new_gen, "must not be decremented"))
    # immutable() of each identity field; the field path is built only for a change
    for key in _IMMUTABLE_META:
        value = new.get(key, "")
        if value != old.get(key, ""):
            errs.extend(immutable(value, old.get(key, ""), f"{path}.{key}"))
    grace = new.get("deletionGracePeriodSeconds")
    if grace != old.get("deletionGracePeriodSeconds"):
        errs.extend(
            immutable(
                grace, old.get("deletionGracePeriodSeconds"), f"{path}.deletionGracePeriodSeconds"
            )
        )
    labels = new.get("labels")
    if labels is not None:
        errs.extend(validate_labels(labels, _subpath(path, "labels")))
    annotations = new.get("annotations")
    if annotations is not None:
        errs.extend(validate_annotations(annotations, _subpath(path, "annotations")))
    refs = new.get("ownerReferences")
    if refs:
        errs.extend(validate_owner_references(refs, _subpath(path, "ownerReferences")))
    finalizers = new.get("finalizers")
    if kube_finalizers and isinstance(finalizers, list):
        for i, f in enumerate(finalizers):
            if isinstance(f, str) and "/" not in f and f not in STANDARD_FINALIZERS:
                errs.append(
                    invalid(
                        f"{path}.finalizers[{i}]",
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    )
                )
    return errs


def ensure_namespace(obj: Obj, request_namespace: str, namespaced: bool) -> None:
    """``EnsureObjectNamespaceMatchesRequestNamespace``: fill in or clear the namespace.

    Raises ``StatusError`` (BadRequest) when the object names another namespace.
    """
    meta = get_metadata(obj)
    expected = request_namespace if namespaced else ""
    current = meta.get("namespace") or ""
    if current == expected:
        return
    if not current:
        meta["namespace"] = expected
    elif not expected:
        meta.pop("namespace", None)
    else:
        raise StatusError.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )


def check_create_resource_version(obj: Obj) -> None:
    """A create must not carry a resourceVersion (``"0"`` is tolerated, as upstream)."""
    rv = get_metadata(obj).get("resourceVersion")
    if rv not in (None, "", "0"):
        raise StatusError.bad_request("resourceVersion should not be set on objects to be created")


def prepare_create(
    obj: Obj,
    *,
    now: str | None = None,
    uid: str | None = None,
    name_generator: Callable[[str], str] = generate_name,
) -> None:
    """System fields of a new object: uid, creationTimestamp, a name from generateName; no
    deletion fields, no resourceVersion (the store sets it)."""
    meta = get_metadata(obj)
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)
    meta.pop("resourceVersion", None)
    meta.pop("selfLink", None)
    meta["uid"] = uid or new_uid()
    meta["creationTimestamp"] = now or now_rfc3339()
    generate = meta.get("generateName")
    if generate and isinstance(generate, str) and not meta.get("name"):
        meta["name"] = name_generator(generate)


def prepare_update(new: Obj, old: Obj) -> None:
    """What an update may not change in metadata is taken from the old object."""
    meta, old_meta = get_metadata(new), get_metadata(old)
    if "generation" in old_meta:
        meta["generation"] = old_meta["generation"]
    else:
        meta.pop("generation", None)
    if not meta.get("uid") and old_meta.get("uid"):
        meta["uid"] = old_meta["uid"]
    if old_meta.get("creationTimestamp"):
        meta["creationTimestamp"] = old_meta["creationTimestamp"]
    if old_meta.get("deletionTimestamp"):
        meta["deletionTimestamp"] = old_meta["deletionTimestamp"]
    if (
        old_meta.get("deletionGracePeriodSeconds") is not None
        and meta.get("deletionGracePeriodSeconds") is None
    ):
        meta["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]


def prepare_for_storage(obj: Obj) -> None:
    """Drop what is not stored: the resourceVersion (it is the key's mod revision) and selfLink."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("resourceVersion", None)
        meta.pop("selfLink", None)


def parse_resource_version(rv: str | None) -> int:
    """``APIObjectVersioner.ParseResourceVersion``: ``""`` and ``"0"`` are 0.

    Raises ``ValueError`` with upstream's field error text for anything but a uint64.
    """
    if rv is None or rv in ("", "0"):
        return 0
    if isinstance(rv, str) and rv.isascii() and rv.isdigit():
        value = int(rv)
        if value < 2**64:
            return value
        reason = "value out of range"
    else:
        reason = "invalid syntax"
    detail = f"strconv.ParseUint: parsing {go_value(str(rv))}: {reason}"
    raise ValueError(str(invalid("resourceVersion", rv, detail)))


def resource_version(obj: Mapping[str, Any]) -> int:
    """The object's resourceVersion as an integer (0 when unset)."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return 0
    return parse_resource_version(meta.get("resourceVersion"))


def set_resource_version(obj: Obj, rv: int) -> None:
    get_metadata(obj)["resourceVersion"] = str(rv)
