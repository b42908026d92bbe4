"""Batch verbs of :class:`~kubemu.apiserver.handlers.APIServer`: ``create_many`` and
``update_many`` (one store batch, per-item results in request order)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from kubemu._core import Stamper, pack_many
from kubemu.apiserver import codec
from kubemu.apiserver.admission import (
    Operation,
)
from kubemu.apiserver.creating import Creating, TemplateMemo, invalid_error
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
    parse_resource_version,
    prepare_for_storage,
    set_resource_version,
)
from kubemu.objects.names import name_is_dns_subdomain

if TYPE_CHECKING:
    pass

Obj = dict[str, Any]

MAX_VARIANTS: Final = 4096
"""Variants (requests that differ only in their name) a batch's :class:`Stamper` learns."""


def _stamper(kind: Kind) -> Stamper | None:
    """A :class:`Stamper` for a batch of ``kind`` (a template kind), or None when its names are
    not the kind Stamper checks itself (its rule must accept only names ``kind.name_fn``
    accepts; anything else goes the slow path, which gives the exact error).

    Why stamping is exact: a variant is learnt only from an object the slow path prepared
    successfully (not a generated name), and a template kind's defaulting, spec-only admission
    (template keys read annotations, not names, labels or owners), initial status (memoized per
    spec by :class:`TemplateMemo`) and validation do not read the name, label values or owner
    names except to check each on its own (the name by ``kind.name_fn``, a label value by
    ``label_value_errors``, an owner name for being non-empty: the stamper's own rules accept
    only what those accept); the create path copies them unchanged and adds per-object values
    only in ``.uid`` and ``.creationTimestamp``. So a request of a known variant with valid
    values would come out of the slow path as the learnt document with those values replaced,
    which is what the stamper writes (same bytes: tests compare)."""
    if kind.name_fn is not name_is_dns_subdomain:
        return None
    return Stamper("dns1123-subdomain", MAX_VARIANTS)


class _CreateBatch:
    """One ``create_many``'s preparation: per object its store item (key, bytes) and what
    the result needs, or its error."""

    __slots__ = (
        "errors",
        "items",
        "kind",
        "memo",
        "reader",
        "server",
        "stampers",
        "templated",
        "todo",
        "user",
    )

    def __init__(self, server: Batches, kind: Kind, user: UserInfo, n: int) -> None:
        self.server = server
        self.kind = kind
        self.user = user
        self.reader = server.caching_reader()
        self.templated = server._templated(kind)
        self.memo = TemplateMemo(server.admission)
        # One stamper per input type: bytes get checks a dict does not (nesting depth).
        self.stampers: dict[type, Stamper | None] = {}
        self.errors: builtins.list[StatusError | None] = [None] * n
        self.items: builtins.list[tuple[bytes, bytes]] = []
        # Per item: (index, the prepared object or None for a stamped one, name generated)
        self.todo: builtins.list[tuple[int, Obj | None, bool]] = []

    def stamper(self, obj: object) -> Stamper | None:
        if not self.templated:
            return None
        t = type(obj)
        if t not in self.stampers:
            self.stampers[t] = _stamper(self.kind)
        return self.stampers[t]

    def stamp(
        self,
        stamper: Stamper,
        requests: builtins.list[bytes | None],
        start: int,
        ns: str,
        index: int,
    ) -> int:
        """Stamps ``requests[start:]`` (``requests[start]`` is object ``index`` of the batch)
        up to the first one its variant does not know; how many it stamped."""
        run = stamper.stamp_run(requests, start, self.server._now(), self.kind.prefix(ns or None))
        if run:
            self.items += run
            self.todo += [(j, None, False) for j in range(index, index + len(run))]
        return len(run)

    def prepare(self, i: int, obj: Obj | bytes, ns: str, request: bytes | None) -> None:
        """The slow path for object ``i`` (its variant learnt by its stamper if it has one)."""
        server, kind = self.server, self.kind
        try:
            if self.templated:
                new, generated, data = server._create_templated(
                    kind, ns, obj, self.user, self.reader, self.memo
                )
                stamper = self.stamper(obj)
                if stamper is not None and request is not None and not generated:
                    meta = get_metadata(new)
                    stamper.learn(request, data, meta["uid"], meta["creationTimestamp"])
            else:
                new, generated = server._prepare_create(
                    kind, ns, obj, self.user, False, self.reader
                )
                prepare_for_storage(new)
                data = codec.encode(new)
            self.items.append((kind.key_of(new), data))
            self.todo.append((i, new, generated))
        except StatusError as e:
            self.errors[i] = e

    def prepare_all(self, namespace: str, objs: Sequence[Obj | bytes]) -> None:
        """Every object: stamped in runs where its stamper knows its variant, else the slow
        path. With a namespace for the whole batch (or a cluster-scoped kind) runs span many
        objects; without, each object names its namespace and is stamped alone."""
        server, kind = self.server, self.kind
        if namespace or not kind.namespaced:
            ns = server._namespace(kind, namespace)
            stamping = bool(objs) and self.stamper(objs[0]) is not None  # all or none
            requests = server._requests_bytes(objs) if stamping else []
            # Per input type the requests of that type (None for the others: a run stops there).
            types = {type(o) for o in objs} if stamping else set()
            by_type = {
                t: requests
                if len(types) == 1
                else [r if type(o) is t else None for o, r in zip(objs, requests, strict=True)]
                for t in types
            }
            i, n = 0, len(objs)
            while i < n:
                stamper = self.stamper(objs[i]) if stamping else None
                if stamper is not None:
                    stamped = self.stamp(stamper, by_type[type(objs[i])], i, ns, i)
                    if stamped:
                        i += stamped
                        continue
                self.prepare(i, objs[i], ns, requests[i] if requests else None)
                i += 1
            return
        for i, obj in enumerate(objs):
            try:
                if isinstance(obj, bytes):  # each object names its namespace
                    obj = codec.decode_object(obj, max_bytes=server.max_request_bytes)
                meta = obj.get("metadata")
                ns = str((meta if isinstance(meta, dict) else {}).get("namespace") or "")
                ns = server._namespace(kind, ns)
            except StatusError as e:
                self.errors[i] = e
                continue
            stamper = self.stamper(obj)
            request = server._request_bytes(obj) if stamper is not None else None
            if stamper is None or not self.stamp(stamper, [request], 0, ns, i):
                self.prepare(i, obj, ns, request)


class Batches(Creating):
    """``create_many``, ``update_many`` (a part of APIServer; the batch create shares the
    create steps)."""

    async def create_many(
        self,
        resource: str,
        namespace: str,
        objs: Sequence[Obj | bytes],
        *,
        user: UserInfo,
    ) -> BatchResult:
        """Creates in one store batch; per-object outcomes exactly those of :meth:`create`.

        Template kinds take :meth:`_create_templated` (the spec work once per distinct spec)
        and, with a :class:`~kubemu._core.Stamper`, skip even that for a request that differs
        from one created earlier in the batch only in its name, label values and owner names:
        its stored bytes are the earlier object's with its own values and a new uid and
        creationTimestamp (see :func:`_stamper`), made in runs of consecutive requests in one
        call, and stored by one ``Store.create_many`` (create-if-absent in Rust). Created objects
        come back as their stored bytes, decoded when the result's ``objects`` are first read
        (:meth:`BatchResult.stored`: a transport sends them as they are)."""
        kind = self.kind(resource)
        objects: builtins.list[Obj | None] = [None] * len(objs)
        stored: dict[int, tuple[bytes, int]] = {}
        with self._request("create", kind, user, namespace, ""), gc_paused(promote=True):
            batch = _CreateBatch(self, kind, user, len(objs))
            batch.prepare_all(namespace, objs)
            errors = batch.errors
            outcomes = self.storage.create_many(batch.items)
            for (i, prepared, generated), (key, data), out in zip(
                batch.todo, batch.items, outcomes, strict=True
            ):
                if type(out) is int:
                    if prepared is None:
                        stored[i] = (data, out)
                    else:
                        set_resource_version(prepared, out)
                        objects[i] = prepared
                elif generated and prepared is not None:
                    try:
                        objects[i] = self._store_create(kind, prepared, True, False)
                    except StatusError as e:
                        errors[i] = e
                else:
                    # A stamped name is a DNS subdomain: no "/" in it, the key ends with it.
                    name = (
                        key[key.rindex(b"/") + 1 :].decode()
                        if prepared is None
                        else str(get_metadata(prepared).get("name", ""))
                    )
                    errors[i] = StatusError.already_exists(kind.plural, name, kind.group)
        return BatchResult.stored_objects(objects, errors, stored, codec.decode_all)

    def _requests_bytes(self, objs: Sequence[Obj | bytes]) -> builtins.list[bytes | None]:
        """:meth:`_request_bytes` of each object: the dicts :func:`~kubemu._core.pack_many`
        packs (msgpack's bytes, in one call) and the others one by one."""
        limit = self.max_request_bytes
        out = pack_many(objs)
        for i, data in enumerate(out):
            if data is None:
                out[i] = self._request_bytes(objs[i])
            elif len(data) > limit:
                out[i] = None
        return out

    async def update_many(
        self, resource: str, objs: Sequence[Obj | bytes], *, user: UserInfo
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
