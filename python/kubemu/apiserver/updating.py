"""UPDATE, UPDATE status/finalize and PATCH of :class:`~kubemu.apiserver.handlers.APIServer`:
the GuaranteedUpdate loop (optimistic concurrency, retries), the write that deletes an object
whose last finalizer goes, and patches applied on the update path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from kubemu.apiserver import codec
from kubemu.apiserver.admission import (
    Operation,
)
from kubemu.apiserver.core import ServerCore
from kubemu.apiserver.creating import invalid_error
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.storage import (
    KeyMissing,
    RevisionMismatch,
    StoredObject,
)
from kubemu.apiserver.watch import RawObject
from kubemu.objects import StatusError
from kubemu.objects.errors import OPTIMISTIC_LOCK_MESSAGE, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.namespace import prepare_for_finalize, validate_finalize
from kubemu.objects.meta import (
    ensure_namespace,
    get_metadata,
    parse_resource_version,
    prepare_for_storage,
    set_resource_version,
)

MAX_UPDATE_RETRIES: Final = 16
"""Retries of an update without a resourceVersion (or a patch) on a concurrent write."""

if TYPE_CHECKING:
    pass

Obj = dict[str, Any]


class Updating(ServerCore):
    """``update``, ``update_status``, ``patch`` (a part of APIServer, over
    :class:`~kubemu.apiserver.core.ServerCore`)."""

    async def update(
        self,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        *,
        user: UserInfo,
        subresource: str = "",
    ) -> Obj:
        new, _, rev = self._update_request(resource, namespace, obj, user, subresource)
        set_resource_version(new, rev)
        return new

    async def update_status(
        self, resource: str, namespace: str, obj: Obj | bytes, *, user: UserInfo
    ) -> Obj:
        return await self.update(resource, namespace, obj, user=user, subresource="status")

    async def update_raw(
        self,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        *,
        user: UserInfo,
        subresource: str = "",
    ) -> RawObject:
        """:meth:`update` as the stored bytes and resourceVersion (``decode()`` gives what
        ``update`` returns), for transports that send the bytes on: the object is encoded
        once, for the store."""
        new, data, rev = self._update_request(resource, namespace, obj, user, subresource)
        return RawObject(codec.encode(new) if data is None else data, rev)

    async def update_status_raw(
        self, resource: str, namespace: str, obj: Obj | bytes, *, user: UserInfo
    ) -> RawObject:
        return await self.update_raw(resource, namespace, obj, user=user, subresource="status")

    def _update_request(
        self,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        user: UserInfo,
        subresource: str,
    ) -> tuple[Obj, bytes | None, int]:
        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        new, request = self._decode_in_bytes(obj, kind)
        name = str(get_metadata(new).get("name") or "")
        with self._request("update", kind, user, namespace, name, subresource):
            return self._update_written(kind, namespace, new, user, subresource, None, request)

    def _check_subresource(self, kind: Kind, subresource: str) -> None:
        if subresource == "status" and kind.has_status:
            return
        if subresource == "finalize" and kind.plural == "namespaces" and not kind.group:
            return
        if subresource:
            raise StatusError.not_found(f"{kind.plural}/{subresource}", "", kind.group)

    def _update(
        self,
        kind: Kind,
        namespace: str,
        new: Obj,
        user: UserInfo,
        subresource: str,
        current: StoredObject | None = None,
    ) -> Obj:
        """The update path (GuaranteedUpdate): retries on a concurrent write when the request
        carries no resourceVersion; Conflict when it does and it is stale. Returns the
        written object with its resourceVersion."""
        new, _, rev = self._update_written(kind, namespace, new, user, subresource, current)
        set_resource_version(new, rev)
        return new

    def _update_written(
        self,
        kind: Kind,
        namespace: str,
        new: Obj,
        user: UserInfo,
        subresource: str,
        current: StoredObject | None = None,
        request: bytes | None = None,
    ) -> tuple[Obj, bytes | None, int]:
        """:meth:`_update` as :meth:`_write_update_written`'s triple. ``request``: msgpack
        bytes that decode to ``new`` as it was before :meth:`_check_in` (a retry starts
        again from them; without them ``new`` is encoded first)."""
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
        # A retry starts again from the request's object.
        template = codec.encode(new) if request is None else request
        attempt: Obj | None = new
        for _ in range(MAX_UPDATE_RETRIES):
            cur = current or self._get_stored(kind, namespace, name)
            current = None
            if requested and requested != cur.revision:
                raise StatusError.conflict(kind.plural, name, OPTIMISTIC_LOCK_MESSAGE, kind.group)
            if attempt is None:
                attempt = codec.decode_trusted(template)
                if request is not None:  # the request as it came: checked again as it was
                    self._check_in(attempt, kind)
                    ensure_namespace(attempt, namespace, kind.namespaced)
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

    def _apply_update(
        self,
        kind: Kind,
        namespace: str,
        new: Obj,
        cur: StoredObject,
        user: UserInfo,
        subresource: str,
    ) -> tuple[Obj, bytes | None, int]:
        """One try: prepare/validate/admit ``new`` against ``cur`` and CAS-write it
        (:meth:`_write_update_written`'s triple). Raises RevisionMismatch when ``cur`` is
        stale."""
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
        return self._write_update_written(kind, new, old, cur)

    def _write_update(self, kind: Kind, new: Obj, old: Obj, cur: StoredObject) -> Obj:
        new, _, rev = self._write_update_written(kind, new, old, cur)
        set_resource_version(new, rev)
        return new

    def _write_update_written(
        self, kind: Kind, new: Obj, old: Obj, cur: StoredObject
    ) -> tuple[Obj, bytes | None, int]:
        """CAS-write an updated object: ``(object without resourceVersion, its stored bytes,
        resourceVersion)``. An update identical to the stored object writes nothing (the
        stored bytes and revision); a deleting object losing its last finalizer is deleted
        (``None`` bytes, the revision it had). Raises RevisionMismatch / KeyMissing."""
        prepare_for_storage(new)
        key = cur.key
        if self._should_delete_during_update(kind, new, old):
            self.storage.delete(key, cur.revision)
            return new, None, cur.revision
        data = codec.encode(new)
        if data == cur.value:
            return new, data, cur.revision
        return new, data, self.storage.update(key, data, cur.revision)

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

    async def patch(
        self,
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
