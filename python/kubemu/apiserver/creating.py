"""CREATE of :class:`~kubemu.apiserver.handlers.APIServer`: decode, default, admit, prepare,
validate, store (generateName retries)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Final

from kubemu.apiserver import codec
from kubemu.apiserver.admission import (
    ObjectReader,
    Operation,
)
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.storage import (
    KeyExists,
)
from kubemu.objects import StatusError
from kubemu.objects.errors import FieldError
from kubemu.objects.kinds.base import Kind
from kubemu.objects.meta import (
    ensure_namespace,
    get_metadata,
    prepare_for_storage,
)
from kubemu.objects.names import generate_name

GENERATE_NAME_ATTEMPTS: Final = 8
"""Creates with generateName retry on a name collision (upstream's RetryGenerateName)."""


def invalid_error(kind: Kind, obj: Obj, errs: builtins.list[FieldError]) -> StatusError:
    """``Invalid`` for ``obj`` (whose name may itself be malformed)."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else ""
    return StatusError.invalid(
        kind.kind, name if isinstance(name, str) else str(name), errs, group=kind.group
    )


if TYPE_CHECKING:
    from kubemu.apiserver.handlers import APIServer

Obj = dict[str, Any]


class Creating:
    """``create`` and the steps ``create_many`` shares (a mixin of APIServer)."""

    def _prepare_create(  # type: ignore[misc]  # self-typed mixin
        self: APIServer,
        kind: Kind,
        namespace: str,
        obj: Obj | bytes,
        user: UserInfo,
        dry_run: bool,
        reader: ObjectReader | None = None,
    ) -> tuple[Obj, bool]:
        """Decode → default → admit → prepare → validate → admit(validate); returns the
        object and whether its name was generated."""
        new = self._decode_in(obj, kind)
        ensure_namespace(new, namespace, kind.namespaced)
        kind.default(new)
        meta = get_metadata(new)
        attrs = self._attrs(
            Operation.CREATE,
            kind,
            namespace,
            str(meta.get("name") or ""),
            user,
            dry_run=dry_run,
            reader=reader,
        )
        self.admission.admit(attrs, new, None)
        generated = not meta.get("name") and bool(meta.get("generateName"))
        kind.prepare_for_create(new, now=self._now())
        errs = kind.validate_create(new)
        if errs:
            raise invalid_error(kind, new, errs)
        self.admission.validate(attrs, new, None)
        return new, generated

    async def create(  # type: ignore[misc]  # self-typed mixin
        self: APIServer,
        resource: str,
        namespace: str,
        obj: Obj | bytes,
        *,
        user: UserInfo,
        dry_run: bool = False,
    ) -> Obj:
        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        with self._request("create", kind, user, namespace, ""):
            new, generated = self._prepare_create(kind, namespace, obj, user, dry_run)
            return self._store_create(kind, new, generated, dry_run)

    def _store_create(self: APIServer, kind: Kind, new: Obj, generated: bool, dry_run: bool) -> Obj:  # type: ignore[misc]  # self-typed mixin
        meta = get_metadata(new)
        prepare_for_storage(new)
        for attempt in range(GENERATE_NAME_ATTEMPTS if generated else 1):
            if attempt:
                meta["name"] = generate_name(str(meta["generateName"]))
            key = kind.key_of(new)
            if dry_run:
                if self.storage.get(key) is not None:
                    break
                return new
            try:
                rev = self.storage.create(key, codec.encode(new))
            except KeyExists:
                continue
            meta["resourceVersion"] = str(rev)
            return new
        name = str(meta.get("name", ""))
        if generated:
            raise StatusError.generate_name_conflict(kind.plural, name, kind.group)
        raise StatusError.already_exists(kind.plural, name, kind.group)
