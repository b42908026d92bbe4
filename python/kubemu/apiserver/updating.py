"""UPDATE, UPDATE status/finalize and PATCH of :class:`~kubemu.apiserver.handlers.APIServer`:
the GuaranteedUpdate loop (optimistic concurrency, retries), the write that deletes an object
whose last finalizer goes, and patches applied on the update path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from kubemu.apiserver import codec
from kubemu.apiserver.admission import (
    Operation,
)
from kubemu.apiserver.creating import invalid_error
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.storage import (
    KeyMissing,
    RevisionMismatch,
    StoredObject,
)
from kubemu.objects import StatusError
from kubemu.objects.errors import OPTIMISTIC_LOCK_MESSAGE, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.namespace import prepare_for_finalize, validate_finalize
from kubemu.objects.meta import (
    ensure_namespace,
    get_metadata,
    parse_resource_version,
    prepare_for_storage,
)

MAX_UPDATE_RETRIES: Final = 16
"""Retries of an update without a resourceVersion (or a patch) on a concurrent write."""

if TYPE_CHECKING:
    from kubemu.apiserver.handlers import APIServer

Obj = dict[str, Any]


class Updating:
    """``update``, ``update_status``, ``patch`` (a mixin of APIServer)."""

    async def update(  # type: ignore[misc]  # self-typed mixin
        self: APIServer,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        *,
        user: UserInfo,
        subresource: str = "",
    ) -> Obj:
        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        new = self._decode_in(obj, kind)
        name = str(get_metadata(new).get("name") or "")
        with self._request("update", kind, user, namespace, name, subresource):
            return self._update(kind, namespace, new, user, subresource)

    async def update_status(  # type: ignore[misc]  # self-typed mixin
        self: APIServer, resource: str, namespace: str, obj: Obj | bytes, *, user: UserInfo
    ) -> Obj:
        return await self.update(resource, namespace, obj, user=user, subresource="status")

    def _check_subresource(self: APIServer, kind: Kind, subresource: str) -> None:  # type: ignore[misc]  # self-typed mixin
        if subresource == "status" and kind.has_status:
            return
        if subresource == "finalize" and kind.plural == "namespaces" and not kind.group:
            return
        if subresource:
            raise StatusError.not_found(f"{kind.plural}/{subresource}", "", kind.group)

    def _update(  # type: ignore[misc]  # self-typed mixin
        self: APIServer,
        kind: Kind,
        namespace: str,
        new: Obj,
        user: UserInfo,
        subresource: str,
        current: StoredObject | None = None,
    ) -> Obj:
        """The update path (GuaranteedUpdate): retries on a concurrent write when the request
        carries no resourceVersion; Conflict when it does and it is stale."""
        self._check_subresource(kind, subresource)
        ensure_namespace(new, namespace, kind.namespaced)
        meta = get_metadata(new)
        name = meta.get("name")
        if not name or not isinstance(name, str):
            raise StatusError.invalid(
                kind.kind,
                "",
                [required("metadata.name", "name or generateName is required")],
                group=kind.group,
            )
        try:
            requested = parse_resource_version(meta.get("resourceVersion"))
        except ValueError as e:
            raise StatusError.bad_request(str(e)) from None
        template = codec.encode(new)  # a retry starts again from the request's object
        attempt: Obj | None = new
        for _ in range(MAX_UPDATE_RETRIES):
            cur = current or self._get_stored(kind, namespace, name)
            current = None
            if requested and requested != cur.revision:
                raise StatusError.conflict(kind.plural, name, OPTIMISTIC_LOCK_MESSAGE, kind.group)
            if attempt is None:
                attempt = codec.decode_trusted(template)
            try:
                return self._apply_update(kind, namespace, attempt, cur, user, subresource)
            except RevisionMismatch:
                attempt = None
                if requested:
                    raise StatusError.conflict(
                        kind.plural, name, OPTIMISTIC_LOCK_MESSAGE, kind.group
                    ) from None
            except KeyMissing:
                raise StatusError.not_found(kind.plural, name, kind.group) from None
        raise StatusError.conflict(kind.plural, name, OPTIMISTIC_LOCK_MESSAGE, kind.group)

    def _apply_update(  # type: ignore[misc]  # self-typed mixin
        self: APIServer,
        kind: Kind,
        namespace: str,
        new: Obj,
        cur: StoredObject,
        user: UserInfo,
        subresource: str,
    ) -> Obj:
        """One try: prepare/validate/admit ``new`` against ``cur`` and CAS-write it. Raises
        RevisionMismatch when ``cur`` is stale."""
        old = self._decode(cur)
        meta = get_metadata(new)
        name = meta["name"]
        if not meta.get("resourceVersion"):
            meta["resourceVersion"] = str(cur.revision)  # an unconditional update
        if subresource:
            kind.default(new)
        else:
            kind.default_spec(new)  # the status is the old one (prepare_for_update)
        attrs = self._attrs(Operation.UPDATE, kind, namespace, name, user, subresource)
        self.admission.admit(attrs, new, old)
        if subresource == "status":
            kind.prepare_for_status_update(new, old)
            errs = kind.validate_status_update(new, old)
        elif subresource == "finalize":
            prepare_for_finalize(new, old)
            errs = validate_finalize(new, old)
        else:
            kind.prepare_for_update(new, old)
            errs = kind.validate_update(new, old)
        if errs:
            raise invalid_error(kind, new, errs)
        self.admission.validate(attrs, new, old)
        return self._write_update(kind, new, old, cur)

    def _write_update(self: APIServer, kind: Kind, new: Obj, old: Obj, cur: StoredObject) -> Obj:  # type: ignore[misc]  # self-typed mixin
        meta = get_metadata(new)
        prepare_for_storage(new)
        key = cur.key
        if self._should_delete_during_update(kind, new, old):
            self.storage.delete(key, cur.revision)
            meta["resourceVersion"] = str(cur.revision)
            return new
        data = codec.encode(new)
        if data == cur.value:
            meta["resourceVersion"] = str(cur.revision)
            return new
        rev = self.storage.update(key, data, cur.revision)
        meta["resourceVersion"] = str(rev)
        return new

    @staticmethod
    def _should_delete_during_update(kind: Kind, new: Obj, old: Obj) -> bool:
        """A deleting object whose last finalizer is removed is deleted (upstream's
        ``ShouldDeleteDuringUpdate``); a namespace when its spec finalizers empty too."""
        old_meta, meta = get_metadata(old), get_metadata(new)
        if not old_meta.get("deletionTimestamp") or meta.get("finalizers"):
            return False
        if kind.plural == "namespaces" and not kind.group:
            if (new.get("spec") or {}).get("finalizers"):
                return False
            had = old_meta.get("finalizers") or (old.get("spec") or {}).get("finalizers")
            return bool(had)
        if not old_meta.get("finalizers"):
            return False
        grace = old_meta.get("deletionGracePeriodSeconds")
        return not grace

    # -- patch ------------------------------------------------------------------------------

    async def patch(  # type: ignore[misc]  # self-typed mixin
        self: APIServer,
        resource: str,
        namespace: str,
        name: str,
        patch: Any,
        patch_type: str,
        *,
        user: UserInfo,
        subresource: str = "",
    ) -> Obj:
        from kubemu.apiserver.patching import apply_patch, parse_patch

        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        with self._request("patch", kind, user, namespace, name, subresource):
            self._check_subresource(kind, subresource)
            doc = parse_patch(patch)
            for _ in range(MAX_UPDATE_RETRIES):
                cur = self._get_stored(kind, namespace, name)
                current = self._decode(cur)
                patched = apply_patch(current, patch_type, codec.decode_trusted(codec.encode(doc)))
                patched = self._decode_in(patched, kind)
                meta = get_metadata(patched)
                if meta.get("name") != name:
                    raise StatusError.bad_request(
                        "the name of the object does not match the name on the URL"
                    )
                pinned = meta.get("resourceVersion") not in (None, "", str(cur.revision))
                if not pinned:
                    meta["resourceVersion"] = str(cur.revision)
                try:
                    return self._update(kind, namespace, patched, user, subresource, cur)
                except StatusError as e:
                    if (
                        e.reason != "Conflict"
                        or pinned
                        or e.message.find(OPTIMISTIC_LOCK_MESSAGE) < 0
                    ):
                        raise
            raise StatusError.conflict(kind.plural, name, OPTIMISTIC_LOCK_MESSAGE, kind.group)
