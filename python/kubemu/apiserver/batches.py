"""Batch verbs of :class:`~kubemu.apiserver.handlers.APIServer`: ``create_many`` and
``update_many`` (one store batch, per-item results in request order)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from kubemu._core import Stamper
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
from kubemu.objects.kinds.base import Kind
from kubemu.objects.meta import (
    get_metadata,
    new_uid,
    parse_resource_version,
    prepare_for_storage,
    set_resource_version,
)
from kubemu.objects.names import name_is_dns_subdomain

if TYPE_CHECKING:
    from kubemu.apiserver.handlers import APIServer

Obj = dict[str, Any]

MAX_VARIANTS: Final = 4096
"""Variants (requests that differ only in their name) a batch's :class:`Stamper` learns."""


def _stamper(kind: Kind) -> Stamper | None:
    """A :class:`Stamper` for a batch of ``kind`` (a template kind), or None when its names are
    not the kind Stamper checks itself (its rule must accept only names ``kind.name_fn``
    accepts; anything else goes the slow path, which gives the exact error).

    Why stamping is exact: a variant is learnt only from an object the slow path prepared
    successfully (not a generated name), and a template kind's defaulting, spec-only admission
    (template keys read metadata other than the name), initial status and validation of
    everything but the name do not read the name; the create path puts per-object values only
    in ``metadata.name``, ``.uid`` and ``.creationTimestamp``. So a request of a known variant
    with a valid name would come out of the slow path as the learnt document with those three
    values replaced, which is what the stamper writes (same bytes: tests compare)."""
    if kind.name_fn is not name_is_dns_subdomain:
        return None
    return Stamper("dns1123-subdomain", MAX_VARIANTS)


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
        """Creates in one store batch; per-object outcomes exactly those of :meth:`create`.

        Template kinds take :meth:`_create_templated` (the spec work once per distinct spec)
        and, with a :class:`~kubemu._core.Stamper`, skip even that for a request that differs
        from one created earlier in the batch only in ``metadata.name``: its stored bytes are
        the earlier object's with its own name, uid and creationTimestamp (see
        :func:`_stamper`)."""
        kind = self.kind(resource)
        result = BatchResult([None] * len(objs), [None] * len(objs))
        with self._request("create", kind, user, namespace, ""), gc_paused(promote=True):
            reader = self.caching_reader()
            templated = self._templated(kind)
            memo = TemplateMemo(self.admission)
            # One stamper per input type: bytes get checks a dict does not (nesting depth).
            stampers: dict[type, Stamper | None] | None = {} if templated else None
            # (index, the object or None for a stamped one, its name, whether generated)
            todo: builtins.list[tuple[int, Obj | None, str, bool]] = []
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
                    request = stamper = None
                    if stampers is not None:
                        request = self._request_bytes(obj)
                        if type(obj) not in stampers:
                            stampers[type(obj)] = _stamper(kind)
                        stamper = stampers[type(obj)]
                        if request is not None and stamper is not None:
                            hit = stamper.stamp(request, new_uid(), self._now())
                            if hit is not None:
                                name, data = hit
                                items.append((kind.key(ns or None, name), data))
                                todo.append((i, None, name, False))
                                continue
                    if templated:
                        new, generated, data = self._create_templated(
                            kind, ns, obj, user, reader, memo
                        )
                        if stamper is not None and request is not None and not generated:
                            meta = get_metadata(new)
                            stamper.learn(request, data, meta["uid"], meta["creationTimestamp"])
                    else:
                        new, generated = self._prepare_create(kind, ns, obj, user, False, reader)
                        prepare_for_storage(new)
                        data = codec.encode(new)
                    items.append((kind.key_of(new), data))
                    todo.append((i, new, str(get_metadata(new).get("name", "")), generated))
                except StatusError as e:
                    result.errors[i] = e
            outcomes = self.storage.create_many(items)
            stamped = iter(
                codec.decode_all(
                    [
                        data
                        for (_, prepared, _, _), (_, data), out in zip(
                            todo, items, outcomes, strict=True
                        )
                        if prepared is None and isinstance(out, int)
                    ]
                )
            )
            for (i, prepared, name, generated), out in zip(todo, outcomes, strict=True):
                if isinstance(out, int):
                    new = next(stamped) if prepared is None else prepared
                    set_resource_version(new, out)
                    result.objects[i] = new
                elif generated and prepared is not None:
                    try:
                        result.objects[i] = self._store_create(kind, prepared, True, False)
                    except StatusError as e:
                        result.errors[i] = e
                else:
                    result.errors[i] = StatusError.already_exists(kind.plural, name, kind.group)
        return result

    def _request_bytes(self: APIServer, obj: Obj | bytes) -> bytes | None:  # type: ignore[misc]  # self-typed mixin
        """A request object's msgpack as :class:`~kubemu._core.Stamper` reads it, or None when
        only the slow path can judge it (not packable, over the size limit)."""
        if type(obj) is bytes:
            data = obj
        elif type(obj) is dict:
            try:
                data = codec.encode(obj)
            except StatusError:
                return None
        else:
            return None
        return data if len(data) <= self.max_request_bytes else None

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
