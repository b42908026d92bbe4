"""Batch verbs of :class:`~kubemu.apiserver.handlers.APIServer`: ``create_many`` and
``update_many`` (one store batch, per-item results in request order)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubemu.apiserver import codec
from kubemu.apiserver.admission import (
    Operation,
)
from kubemu.apiserver.creating import TemplateMemo, invalid_error
from kubemu.apiserver.request import UserInfo
from kubemu.apiserver.storage import (
    RevisionMismatch,
    StoredObject,
)
from kubemu.client.interface import BatchResult
from kubemu.gcpause import gc_paused
from kubemu.objects import StatusError
from kubemu.objects.meta import (
    get_metadata,
    parse_resource_version,
    prepare_for_storage,
    set_resource_version,
)

if TYPE_CHECKING:
    from kubemu.apiserver.handlers import APIServer

Obj = dict[str, Any]


class Batches:
    """``create_many``, ``update_many`` (a mixin of APIServer)."""

    async def create_many(  # type: ignore[misc]  # self-typed mixin
        self: APIServer,
        resource: str,
        namespace: str,
        objs: Sequence[Obj | bytes],
        *,
        user: UserInfo,
    ) -> BatchResult:
        kind = self.kind(resource)
        result = BatchResult([None] * len(objs), [None] * len(objs))
        with self._request("create", kind, user, namespace, ""), gc_paused(promote=True):
            reader = self.caching_reader()
            templated = self._templated(kind)
            memo = TemplateMemo(self.admission)
            todo: builtins.list[tuple[int, Obj, bool]] = []
            items: builtins.list[tuple[bytes, bytes]] = []
            for i, obj in enumerate(objs):
                try:
                    ns = namespace
                    if not ns and kind.namespaced:
                        # Each object names its namespace (a gRPC CreateMany sends bytes).
                        if isinstance(obj, bytes):
                            obj = codec.decode_object(obj, max_bytes=self.max_request_bytes)
                        meta = obj.get("metadata")
                        ns = str((meta if isinstance(meta, dict) else {}).get("namespace") or "")
                    ns = self._namespace(kind, ns)
                    if templated:
                        new, generated, data = self._create_templated(
                            kind, ns, obj, user, reader, memo
                        )
                    else:
                        new, generated = self._prepare_create(kind, ns, obj, user, False, reader)
                        prepare_for_storage(new)
                        data = codec.encode(new)
                    items.append((kind.key_of(new), data))
                    todo.append((i, new, generated))
                except StatusError as e:
                    result.errors[i] = e
            outcomes = self.storage.create_many(items)
            for (i, new, generated), out in zip(todo, outcomes, strict=True):
                if isinstance(out, int):
                    set_resource_version(new, out)
                    result.objects[i] = new
                elif generated:
                    try:
                        result.objects[i] = self._store_create(kind, new, True, False)
                    except StatusError as e:
                        result.errors[i] = e
                else:
                    name = str(get_metadata(new).get("name", ""))
                    result.errors[i] = StatusError.already_exists(kind.plural, name, kind.group)
        return result

    async def update_many(  # type: ignore[misc]  # self-typed mixin
        self: APIServer, resource: str, objs: Sequence[Obj | bytes], *, user: UserInfo
    ) -> BatchResult:
        """Updates with per-object optimistic concurrency, in one store batch; objects
        without a resourceVersion are retried on a concurrent write."""
        kind = self.kind(resource)
        result = BatchResult([None] * len(objs), [None] * len(objs))
        with self._request("update", kind, user, "", ""), gc_paused(promote=True):
            items: dict[int, Obj] = {}
            for i, obj in enumerate(objs):
                try:
                    items[i] = self._decode_in(obj, kind)
                except StatusError as e:
                    result.errors[i] = e
            pending = list(items)
            for _ in range(4):
                if not pending:
                    break
                writes: builtins.list[tuple[int, StoredObject, Obj, bool]] = []
                for i in pending:
                    new = codec.decode_trusted(codec.encode(items[i]))
                    meta = get_metadata(new)
                    name = str(meta.get("name") or "")
                    try:
                        ns = self._namespace(kind, str(meta.get("namespace") or ""))
                        requested = parse_resource_version(meta.get("resourceVersion"))
                        cur = self._get_stored(kind, ns, name)
                        if requested and requested != cur.revision:
                            raise StatusError.conflict(kind.plural, name, group=kind.group)
                        old = self._decode(cur)
                        meta["resourceVersion"] = str(cur.revision)
                        kind.default(new)
                        attrs = self._attrs(Operation.UPDATE, kind, ns, name, user)
                        self.admission.admit(attrs, new, old)
                        kind.prepare_for_update(new, old)
                        errs = kind.validate_update(new, old)
                        if errs:
                            raise invalid_error(kind, new, errs)
                        self.admission.validate(attrs, new, old)
                        prepare_for_storage(new)
                        writes.append((i, cur, new, bool(requested)))
                    except ValueError as e:
                        result.errors[i] = StatusError.bad_request(str(e))
                    except StatusError as e:
                        result.errors[i] = e
                outcomes = self.storage.update_many(
                    [(cur.key, codec.encode(new), cur.revision) for _, cur, new, _ in writes]
                )
                pending = []
                for (i, _, new, pinned), out in zip(writes, outcomes, strict=True):
                    name = str(get_metadata(new).get("name", ""))
                    if isinstance(out, int):
                        set_resource_version(new, out)
                        result.objects[i] = new
                    elif isinstance(out, RevisionMismatch) and not pinned:
                        pending.append(i)
                    elif isinstance(out, RevisionMismatch):
                        result.errors[i] = StatusError.conflict(kind.plural, name, group=kind.group)
                    else:
                        result.errors[i] = StatusError.not_found(kind.plural, name, kind.group)
            for i in pending:
                name = str(get_metadata(items[i]).get("name", ""))
                result.errors[i] = StatusError.conflict(kind.plural, name, group=kind.group)
        return result
