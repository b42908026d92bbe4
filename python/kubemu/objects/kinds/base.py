"""``Kind``: everything the apiserver needs to know about one resource type.

A kind module builds one ``Kind`` from small functions (defaulting, validation, strategy hooks,
selectable fields); the generic parts (metadata validation and system fields, status and
generation handling, store keys) live here.

The apiserver's order for a create is upstream's: decode → :meth:`Kind.default` → (mutating
admission) → :meth:`Kind.prepare_for_create` → :meth:`Kind.validate_create` → (validating
admission) → store; for an update the same with ``prepare_for_update`` / ``validate_update``, the
new object's ``metadata.resourceVersion`` set (an unconditional update takes the stored one).

Store keys follow DESIGN.md §3: ``/registry/<resource>/<namespace>/<name>`` for the core group,
``/registry/<group>/<resource>/<namespace>/<name>`` for the others, no namespace segment for
cluster-scoped kinds. (Real kube-apiserver omits the group for built-in kinds and has a few
irregular prefixes — ``minions`` for nodes, ``services/specs``, ``controllers`` for RCs; a kind
can override its segment with ``store_resource``.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import msgpack  # type: ignore[import-untyped]

from kubemu.objects.errors import OMITTED, ErrorType, FieldError, StatusError
from kubemu.objects.meta import (
    check_create_resource_version,
    get_metadata,
    prepare_create,
    prepare_update,
    validate_object_meta,
    validate_object_meta_update,
)
from kubemu.objects.names import NameFn, name_is_dns_subdomain

__all__ = ["Kind", "Obj"]

Obj = dict[str, Any]
Validator = Callable[[Obj], list[FieldError]]
UpdateValidator = Callable[[Obj, Obj], list[FieldError]]
Hook = Callable[[Obj], None]
UpdateHook = Callable[[Obj, Obj], None]


_DEFAULTED_SPECS: dict[tuple[str, str, bytes], bytes] = {}
"""Defaulted specs of template kinds by the request spec's msgpack (see Kind.default_spec)."""
_DEFAULTED_SPECS_SIZE = 1024


@lru_cache(maxsize=4096)
def _prefix(group: str, resource: str, namespaced: bool, namespace: str | None) -> bytes:
    base = f"/registry/{group}/{resource}/" if group else f"/registry/{resource}/"
    if namespace and namespaced:
        base += f"{namespace}/"
    return base.encode()


def _spec_changed(new: Obj, old: Obj) -> bool:
    return new.get("spec") != old.get("spec")


def _guarded(fn: Callable[[], list[FieldError]]) -> list[FieldError]:
    """Run a validator; a malformed document it trips on becomes a field error, not a crash."""
    try:
        return fn()
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as e:
        return [FieldError(ErrorType.INVALID, "", OMITTED, f"malformed object: {e}")]


@dataclass(frozen=True, eq=False)
class Kind:
    """One API resource type. Instances are built once, in the kind modules."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    has_status: bool = False
    """The kind has a ``/status`` subresource: updates keep the old status, status updates
    keep the old spec."""
    has_generation: bool = False
    """``metadata.generation`` is 1 on create and bumped when :attr:`bumps_generation` says so."""
    name_fn: NameFn = name_is_dns_subdomain
    defaulter: Hook | None = None
    spec_validator: Validator | None = None
    """Validation of everything but metadata on create."""
    update_validator: UpdateValidator | None = None
    """Validation of everything but metadata on update; defaults to :attr:`spec_validator`."""
    status_validator: UpdateValidator | None = None
    on_create: Hook | None = None
    """The strategy's own ``PrepareForCreate`` (after system fields are set)."""
    on_update: UpdateHook | None = None
    on_status_update: UpdateHook | None = None
    initial_status: Callable[[Obj], Obj] | None = None
    """The status a new object gets (``None``: an empty one); only with :attr:`has_status`."""
    keep_status_on_create: bool = False
    """A create keeps the client's status (nodes register with theirs)."""
    status_keeps_metadata: tuple[str, ...] = ()
    """Metadata fields a status update may not change (taken from the old object)."""
    bumps_generation: Callable[[Obj, Obj], bool] = _spec_changed
    selectable_fields: tuple[str, ...] = ()
    """Field-selector labels beyond ``metadata.name`` / ``metadata.namespace``."""
    field_getter: Callable[[Mapping[str, Any]], dict[str, str]] | None = None
    kube_finalizers: bool = True
    """Apply the core rule that a finalizer without ``/`` must be a standard one."""
    ttl_seconds: int | None = None
    """Objects expire after this long (events: the apiserver's ``--event-ttl``, 1 h)."""
    store_resource: str = ""
    template_spec: bool = False
    """Defaulting, the spec validator and the initial status depend on and change only
    ``spec`` (and a status that a create replaces, and that an update takes from the old object:
    ``has_status``): a batch may compute them once per distinct spec (the pods of one template)
    and copy the result, and :meth:`default_spec` may memoize defaulting by the spec's content.
    Creates in a batch share the work only for a kind without ``on_create``."""

    # Names

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_resource(self) -> str:
        """``pods``, ``deployments.apps``: how error messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        """``Pod``, ``Deployment.apps``: how ``Invalid`` errors name the kind."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    # Store keys

    def prefix(self, namespace: str | None = None) -> bytes:
        """The key prefix of all objects (or of one namespace's objects), with a trailing ``/``."""
        resource = self.store_resource or self.plural
        if namespace is None or type(namespace) is str:
            return _prefix(self.group, resource, self.namespaced, namespace)
        return _prefix.__wrapped__(self.group, resource, self.namespaced, namespace)

    def key(self, namespace: str | None, name: str) -> bytes:
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.plural} are namespaced: a namespace is required")
            return self.prefix(namespace) + name.encode()
        return self.prefix() + name.encode()

    def key_of(self, obj: Mapping[str, Any]) -> bytes:
        meta = obj.get("metadata") or {}
        return self.key(meta.get("namespace"), meta.get("name", ""))

    # Defaulting and validation

    def default(self, obj: Obj) -> None:
        """Upstream's ``SetDefaults_*`` for this kind, in place."""
        if self.defaulter is not None:
            self.defaulter(obj)

    def validate_create(self, obj: Obj) -> list[FieldError]:
        def run() -> list[FieldError]:
            errs = validate_object_meta(
                obj.get("metadata"),
                namespaced=self.namespaced,
                name_fn=self.name_fn,
                kube_finalizers=self.kube_finalizers,
            )
            if self.spec_validator is not None:
                errs.extend(self.spec_validator(obj))
            return errs

        return _guarded(run)

    def default_spec(self, obj: Obj) -> None:
        """:meth:`default` for a write whose status is replaced afterwards (a create, an
        update of the main resource). For a :attr:`template_spec` kind the spec's defaulting
        is memoized by the spec's content (strict msgpack bytes: an exact key) and the spec
        becomes a fresh object, unless defaulting leaves it as it is (a spec written back as
        read: an update's); otherwise, or for a spec msgpack cannot pack strictly, it is
        :meth:`default`."""
        spec = obj.get("spec")
        if not self.template_spec or self.defaulter is None or type(spec) is not dict:
            self.default(obj)
            return
        try:
            key = (self.group, self.kind, msgpack.packb(spec, use_bin_type=True, strict_types=True))
        except (TypeError, ValueError, OverflowError):
            self.default(obj)
            return
        found = _DEFAULTED_SPECS.get(key)
        if found is not None:
            if found != key[2]:  # else defaulting changes nothing: the spec stays as it is
                obj["spec"] = msgpack.unpackb(found, raw=False)
            return
        self.default(obj)
        spec = obj.get("spec")
        if type(spec) is dict:
            if len(_DEFAULTED_SPECS) >= _DEFAULTED_SPECS_SIZE:
                _DEFAULTED_SPECS.clear()
            _DEFAULTED_SPECS[key] = msgpack.packb(spec, use_bin_type=True)

    def validate_create_meta(self, obj: Obj) -> list[FieldError]:
        """The metadata part of :meth:`validate_create` alone (a template kind's spec part is
        known from an object with the same spec)."""
        return _guarded(
            lambda: validate_object_meta(
                obj.get("metadata"),
                namespaced=self.namespaced,
                name_fn=self.name_fn,
                kube_finalizers=self.kube_finalizers,
            )
        )

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        def run() -> list[FieldError]:
            errs = validate_object_meta_update(
                new.get("metadata"), old.get("metadata"), kube_finalizers=self.kube_finalizers
            )
            if self.update_validator is not None:
                errs.extend(self.update_validator(new, old))
            elif self.spec_validator is not None:
                errs.extend(self.spec_validator(new))
            return errs

        return _guarded(run)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        def run() -> list[FieldError]:
            errs = validate_object_meta_update(
                new.get("metadata"), old.get("metadata"), kube_finalizers=self.kube_finalizers
            )
            if self.status_validator is not None:
                errs.extend(self.status_validator(new, old))
            return errs

        return _guarded(run)

    def invalid(self, obj: Mapping[str, Any], errors: list[FieldError]) -> StatusError:
        """The ``Invalid`` StatusError for ``errors`` about ``obj``."""
        name = (obj.get("metadata") or {}).get("name", "")
        return StatusError.invalid(self.kind, name, errors, group=self.group)

    # Strategies

    def prepare_for_create(
        self,
        obj: Obj,
        *,
        now: str | None = None,
        uid: str | None = None,
        name_generator: Callable[[str], str] | None = None,
        status: Obj | None = None,
    ) -> None:
        """System fields, generation 1, a fresh status, then the kind's own create hook.

        ``status``: the initial status when it is already known (a template kind's, computed
        for an object with the same spec); it is used as given, not copied.
        Raises ``StatusError`` (BadRequest) if the object carries a resourceVersion.
        """
        check_create_resource_version(obj)
        if name_generator is None:
            prepare_create(obj, now=now, uid=uid)
        else:
            prepare_create(obj, now=now, uid=uid, name_generator=name_generator)
        obj["apiVersion"] = self.api_version
        obj["kind"] = self.kind
        meta = get_metadata(obj)
        if self.has_generation:
            meta["generation"] = 1
        if self.has_status and not self.keep_status_on_create:
            if status is not None:
                obj["status"] = status
            else:
                obj["status"] = self.initial_status(obj) if self.initial_status else {}
        if self.on_create is not None:
            self.on_create(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Keep what an update may not change (metadata system fields, status), bump the
        generation, then the kind's own update hook. ``new`` takes ``old``'s status object
        itself (not a copy): the old object is not meant to be used afterwards."""
        prepare_update(new, old)
        new["apiVersion"] = self.api_version
        new["kind"] = self.kind
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if self.has_generation and self.bumps_generation(new, old):
            meta = get_metadata(new)
            meta["generation"] = int(get_metadata(old).get("generation") or 0) + 1
        if self.on_update is not None:
            self.on_update(new, old)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """A status update changes the status (and metadata other than
        :attr:`status_keeps_metadata`); the spec is taken from the old object."""
        prepare_update(new, old)
        new["apiVersion"] = self.api_version
        new["kind"] = self.kind
        if "spec" in old:
            new["spec"] = old["spec"]
        else:
            new.pop("spec", None)
        meta, old_meta = get_metadata(new), get_metadata(old)
        for key in self.status_keeps_metadata:
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if self.on_status_update is not None:
            self.on_status_update(new, old)

    # Field selectors

    @property
    def field_names(self) -> frozenset[str]:
        base = ("metadata.name", "metadata.namespace") if self.namespaced else ("metadata.name",)
        return frozenset(base + self.selectable_fields)

    def fields(self, obj: Mapping[str, Any]) -> dict[str, str]:
        """The object's selectable fields (upstream's ``ToSelectableFields``); absent → ``""``."""
        meta = obj.get("metadata") or {}
        out = {"metadata.name": meta.get("name", "")}
        if self.namespaced:
            out["metadata.namespace"] = meta.get("namespace", "")
        if self.field_getter is not None:
            out.update(self.field_getter(obj))
        return out
