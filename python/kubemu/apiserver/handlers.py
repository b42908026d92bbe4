"""The apiserver core: :class:`APIServer`, every verb of docs/apiserver.md, transport-free.

Every method is ``async``, takes ``user=`` (a :class:`UserInfo`) and raises
:class:`kubemu.objects.errors.StatusError`. Reads return decoded copies (``get``) or stored bytes
(``list``/``watch``: :class:`RawObject`); writes return the stored object as a fresh dict.
Listing and watching live in :mod:`kubemu.apiserver.listing`; deletion in
:mod:`kubemu.apiserver.deletion`.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Final

from kubemu.apiserver import codec, deletion, listing
from kubemu.apiserver.admission import (
    AdmissionChain,
    Attributes,
    ObjectReader,
    Operation,
    default_chain,
)
from kubemu.apiserver.auth import AlwaysAllow, Authenticator, Authorizer
from kubemu.apiserver.metrics import Metrics
from kubemu.apiserver.request import RequestInfo, UserInfo, is_readonly
from kubemu.apiserver.storage import (
    KeyExists,
    KeyMissing,
    RevisionMismatch,
    Storage,
    StoredObject,
)
from kubemu.apiserver.watch import ServerWatch, WatchFanout
from kubemu.client.interface import BatchResult, DeleteOptions, ListOptions
from kubemu.objects import REGISTRY, Registry, StatusError
from kubemu.objects.errors import OPTIMISTIC_LOCK_MESSAGE, FieldError, Reason, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.namespace import prepare_for_finalize, validate_finalize
from kubemu.objects.kinds.pod import bind as bind_pod
from kubemu.objects.meta import (
    ensure_namespace,
    get_metadata,
    now_rfc3339,
    parse_resource_version,
    prepare_for_storage,
)
from kubemu.objects.names import generate_name

__all__ = ["GENERATE_NAME_ATTEMPTS", "MAX_UPDATE_RETRIES", "APIServer"]

Obj = dict[str, Any]

GENERATE_NAME_ATTEMPTS: Final = 8
"""Creates with generateName retry on a name collision (upstream's RetryGenerateName)."""
MAX_UPDATE_RETRIES: Final = 16
SYSTEM_NAMESPACES: Final = ("default", "kube-system", "kube-public", "kube-node-lease")


def _invalid(kind: Kind, obj: Obj, errs: builtins.list[FieldError]) -> StatusError:
    """``Invalid`` for ``obj`` (whose name may itself be malformed)."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else ""
    return StatusError.invalid(
        kind.kind, name if isinstance(name, str) else str(name), errs, group=kind.group
    )


class _CachingReader:
    """An :class:`ObjectReader` that reads each object once per request (or batch)."""

    __slots__ = ("_cache", "_server")

    def __init__(self, server: APIServer) -> None:
        self._server = server
        self._cache: dict[tuple[str, str, str], Any] = {}

    def read(self, resource: str, namespace: str, name: str) -> Obj | None:
        key = (resource, namespace, name)
        if key not in self._cache:
            self._cache[key] = self._server.read(resource, namespace, name)
        found: Obj | None = self._cache[key]
        return found

    def read_all(self, resource: str, namespace: str = "") -> builtins.list[Obj]:
        key = (resource, namespace, "\x00all")
        if key not in self._cache:
            self._cache[key] = self._server.read_all(resource, namespace)
        found: builtins.list[Obj] = self._cache[key]
        return found


class _Request:
    """Authorization, in-flight gauge, request counter and latency of one request."""

    __slots__ = ("kind", "server", "start", "subresource", "verb")

    def __init__(self, server: APIServer, verb: str, kind: Kind, subresource: str) -> None:
        self.server, self.verb, self.kind, self.subresource = server, verb, kind, subresource
        self.start = 0.0

    def __enter__(self) -> _Request:
        self.start = time.perf_counter()
        m = self.server.metrics
        (m.inflight_readonly if is_readonly(self.verb) else m.inflight_mutating).inc()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        m = self.server.metrics
        (m.inflight_readonly if is_readonly(self.verb) else m.inflight_mutating).dec()
        if exc is None:
            code = "200" if self.verb != "create" else "201"
        elif isinstance(exc, StatusError):
            code = str(exc.code)
        else:
            code = "500"
        resource = self.kind.plural
        m.request_total.labels(self.verb, resource, self.subresource, code).inc()
        m.request_duration.labels(self.verb, resource, self.subresource).observe(
            time.perf_counter() - self.start
        )


class APIServer:
    """Kubernetes API semantics over a :class:`Storage`."""

    def __init__(
        self,
        storage: Storage,
        *,
        registry: Registry = REGISTRY,
        admission: AdmissionChain | None = None,
        authenticator: Authenticator | None = None,
        authorizer: Authorizer | None = None,
        clock: Callable[[], float] = time.time,
        bookmark_interval: float = 60.0,
        watch_queue_size: int = 10_000,
        watch_buffer_size: int = 10_000,
        max_request_bytes: int = codec.MAX_REQUEST_BYTES,
        bootstrap: bool = True,
    ) -> None:
        self.storage = storage
        self.registry = registry
        self.admission = admission if admission is not None else default_chain()
        self.authenticator = authenticator if authenticator is not None else Authenticator()
        self.authorizer: Authorizer = authorizer if authorizer is not None else AlwaysAllow()
        self.clock = clock
        self.max_request_bytes = max_request_bytes
        self.metrics = Metrics()
        self.watchers = WatchFanout(
            storage,
            metrics=self.metrics,
            queue_size=watch_queue_size,
            buffer_size=watch_buffer_size,
            bookmark_interval=bookmark_interval,
        )
        if bootstrap:
            self.bootstrap()

    # -- plumbing ---------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """Create the system namespaces and priority classes if missing (as kube-apiserver's
        post-start hooks do)."""
        ns_kind = self.registry.lookup("namespaces")
        for name in SYSTEM_NAMESPACES:
            obj: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            self._bootstrap_one(ns_kind, obj)
        pc_kind = self.registry.get("priorityclasses.scheduling.k8s.io")
        if pc_kind is not None:
            from kubemu.objects.kinds.priorityclass import SYSTEM_PRIORITY_CLASSES

            for name, value in SYSTEM_PRIORITY_CLASSES.items():
                pc: Obj = {
                    "apiVersion": pc_kind.api_version,
                    "kind": pc_kind.kind,
                    "metadata": {"name": name},
                    "value": value,
                    "description": "Used for system critical pods that must not be moved "
                    "from their current node.",
                }
                self._bootstrap_one(pc_kind, pc)

    def _bootstrap_one(self, kind: Kind, obj: Obj) -> None:
        if self.storage.get(kind.key_of(obj)) is not None:
            return
        kind.default(obj)
        kind.prepare_for_create(obj, now=self._now())
        prepare_for_storage(obj)
        try:
            self.storage.create(kind.key_of(obj), codec.encode(obj))
        except KeyExists:
            pass

    def _now(self) -> str:
        return now_rfc3339(self.clock())

    def kind(self, resource: str) -> Kind:
        kind = self.registry.get(resource)
        if kind is None:
            raise StatusError(
                Reason.NOT_FOUND, 404, "the server could not find the requested resource"
            )
        return kind

    def _request(
        self, verb: str, kind: Kind, user: UserInfo, namespace: str, name: str, sub: str = ""
    ) -> _Request:
        info = RequestInfo(verb, kind.plural, namespace, name, sub, kind.group)
        reason = self.authorizer.authorize(user, info)
        if reason is not None:
            target = f"{kind.plural}/{sub}" if sub else kind.plural
            detail = (
                f'User "{user.name}" cannot {verb} resource "{target}" in API group '
                f'"{kind.group}"'
                + (f' in the namespace "{namespace}"' if namespace else " at the cluster scope")
            )
            if reason:
                detail += f": {reason}"
            raise StatusError.forbidden(kind.plural, name, detail, group=kind.group)
        return _Request(self, verb, kind, sub)

    @staticmethod
    def _namespace(kind: Kind, namespace: str) -> str:
        if not kind.namespaced:
            return ""
        if not namespace:
            raise StatusError.bad_request(f"a namespace is required for {kind.group_resource}")
        return namespace

    def _attrs(
        self,
        op: Operation,
        kind: Kind,
        ns: str,
        name: str,
        user: UserInfo,
        sub: str = "",
        dry_run: bool = False,
        reader: ObjectReader | None = None,
    ) -> Attributes:
        return Attributes(op, kind, ns, name, sub, user, reader or _CachingReader(self), dry_run)

    # ObjectReader for admission plugins.
    def read(self, resource: str, namespace: str, name: str) -> Obj | None:
        kind = self.kind(resource)
        stored = self.storage.get(kind.key(namespace or None, name))
        return None if stored is None else self._decode(stored)

    def read_all(self, resource: str, namespace: str = "") -> builtins.list[Obj]:
        kind = self.kind(resource)
        out = self.storage.list(kind.prefix(namespace or None))
        return [self._decode(s) for s in out.items]

    @staticmethod
    def _decode(stored: StoredObject) -> Obj:
        obj = codec.decode_trusted(stored.value)
        get_metadata(obj)["resourceVersion"] = str(stored.revision)
        return obj

    def _decode_in(self, obj: Obj | bytes, kind: Kind) -> Obj:
        new = codec.copy_object(obj, max_bytes=self.max_request_bytes)
        api_version, k = new.get("apiVersion"), new.get("kind")
        if (api_version and api_version != kind.api_version) or (k and k != kind.kind):
            raise StatusError.bad_request(
                f"the object provided is {api_version}/{k}, but the request is for "
                f"{kind.api_version}/{kind.kind}"
            )
        new["apiVersion"], new["kind"] = kind.api_version, kind.kind
        meta = new.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise StatusError.invalid(kind.kind, "", [required("metadata")], group=kind.group)
        return new

    def _get_stored(self, kind: Kind, namespace: str, name: str) -> StoredObject:
        if not name:
            raise StatusError.bad_request("name is required")
        stored = self.storage.get(kind.key(namespace or None, name))
        if stored is None:
            raise StatusError.not_found(kind.plural, name, kind.group)
        return stored

    # -- create -----------------------------------------------------------------------------

    def _prepare_create(
        self,
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
            raise _invalid(kind, new, errs)
        self.admission.validate(attrs, new, None)
        return new, generated

    async def create(
        self,
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

    def _store_create(self, kind: Kind, new: Obj, generated: bool, dry_run: bool) -> Obj:
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

    # -- get --------------------------------------------------------------------------------

    async def get(self, resource: str, namespace: str, name: str, *, user: UserInfo) -> Obj:
        kind = self.kind(resource)
        namespace = self._namespace(kind, namespace)
        with self._request("get", kind, user, namespace, name):
            return self._decode(self._get_stored(kind, namespace, name))

    # -- list, watch, delete (kubemu.apiserver.listing / deletion) -------------------------

    async def list(
        self,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        *,
        user: UserInfo,
    ) -> listing.RawList:
        return await listing.list_objects(self, resource, namespace, options, user=user)

    async def watch(
        self,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        *,
        user: UserInfo,
    ) -> ServerWatch:
        return await listing.watch_objects(self, resource, namespace, options, user=user)

    async def delete(
        self,
        resource: str,
        namespace: str,
        name: str,
        options: DeleteOptions | None = None,
        *,
        user: UserInfo,
    ) -> Obj:
        return await deletion.delete_object(self, resource, namespace, name, options, user=user)

    async def delete_collection(
        self,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        delete_options: DeleteOptions | None = None,
        *,
        user: UserInfo,
    ) -> builtins.list[Obj]:
        return await deletion.delete_collection(
            self, resource, namespace, options, delete_options, user=user
        )

    # -- update -----------------------------------------------------------------------------

    async def update(
        self,
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

    async def update_status(
        self, resource: str, namespace: str, obj: Obj | bytes, *, user: UserInfo
    ) -> Obj:
        return await self.update(resource, namespace, obj, user=user, subresource="status")

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
        template = codec.encode(new)
        for _ in range(MAX_UPDATE_RETRIES):
            cur = current or self._get_stored(kind, namespace, name)
            current = None
            if requested and requested != cur.revision:
                raise StatusError.conflict(kind.plural, name, OPTIMISTIC_LOCK_MESSAGE, kind.group)
            attempt = codec.decode_trusted(template)
            try:
                return self._apply_update(kind, namespace, attempt, cur, user, subresource)
            except RevisionMismatch:
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
    ) -> Obj:
        """One try: prepare/validate/admit ``new`` against ``cur`` and CAS-write it. Raises
        RevisionMismatch when ``cur`` is stale."""
        old = self._decode(cur)
        meta = get_metadata(new)
        name = meta["name"]
        if not meta.get("resourceVersion"):
            meta["resourceVersion"] = str(cur.revision)  # an unconditional update
        kind.default(new)
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
            raise _invalid(kind, new, errs)
        self.admission.validate(attrs, new, old)
        return self._write_update(kind, new, old, cur)

    def _write_update(self, kind: Kind, new: Obj, old: Obj, cur: StoredObject) -> Obj:
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

    # -- bind -------------------------------------------------------------------------------

    async def bind(self, namespace: str, name: str, binding: Obj, *, user: UserInfo) -> Obj:
        """``pods/binding``: sets ``spec.nodeName`` and the PodScheduled condition."""
        kind = self.kind("pods")
        namespace = self._namespace(kind, namespace)
        with self._request("create", kind, user, namespace, name, "binding"):
            for _ in range(MAX_UPDATE_RETRIES):
                cur = self._get_stored(kind, namespace, name)
                pod = self._decode(cur)
                new = self._bound(pod, binding)
                try:
                    return self._write_update(kind, new, pod, cur)
                except RevisionMismatch:
                    continue
                except KeyMissing:
                    raise StatusError.not_found(kind.plural, name) from None
            raise StatusError.conflict("pods/binding", name)

    def _bound(self, pod: Obj, binding: Obj) -> Obj:
        meta = get_metadata(pod)
        uid = (binding.get("metadata") or {}).get("uid")
        if uid and uid != meta.get("uid"):
            raise StatusError.conflict(
                "pods/binding",
                meta.get("name", ""),
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{meta.get('uid', '')}",
            )
        new = codec.decode_trusted(codec.encode(pod))
        bind_pod(new, binding, now=self._now())
        return new

    async def bind_many(
        self, bindings: Sequence[tuple[str, str, str]], *, user: UserInfo
    ) -> BatchResult:
        """(namespace, pod, node) triples: one store batch; a pod written concurrently is
        retried."""
        kind = self.kind("pods")
        result = BatchResult([None] * len(bindings), [None] * len(bindings))
        with self._request("create", kind, user, "", "", "binding"):
            pending = list(range(len(bindings)))
            for _ in range(4):
                if not pending:
                    break
                writes: builtins.list[tuple[int, bytes, bytes, int, Obj]] = []
                for i in pending:
                    ns, name, node = bindings[i]
                    try:
                        cur = self._get_stored(kind, self._namespace(kind, ns), name)
                        pod = self._decode(cur)
                        new = self._bound(pod, {"target": {"kind": "Node", "name": node}})
                        prepare_for_storage(new)
                        writes.append((i, cur.key, codec.encode(new), cur.revision, new))
                    except StatusError as e:
                        result.errors[i] = e
                outcomes = self.storage.update_many([(k, v, r) for _, k, v, r, _ in writes])
                pending = []
                for (i, _, _, _, new), out in zip(writes, outcomes, strict=True):
                    if isinstance(out, int):
                        get_metadata(new)["resourceVersion"] = str(out)
                        result.objects[i] = new
                    elif isinstance(out, RevisionMismatch):
                        pending.append(i)
                    else:
                        result.errors[i] = StatusError.not_found("pods", bindings[i][1])
            for i in pending:
                result.errors[i] = StatusError.conflict("pods/binding", bindings[i][1])
        return result

    # -- batches ----------------------------------------------------------------------------

    async def create_many(
        self, resource: str, namespace: str, objs: Sequence[Obj | bytes], *, user: UserInfo
    ) -> BatchResult:
        kind = self.kind(resource)
        result = BatchResult([None] * len(objs), [None] * len(objs))
        with self._request("create", kind, user, namespace, ""):
            reader = _CachingReader(self)
            todo: builtins.list[tuple[int, Obj, bool]] = []
            for i, obj in enumerate(objs):
                try:
                    ns = namespace
                    if not ns and kind.namespaced and isinstance(obj, dict):
                        ns = str((obj.get("metadata") or {}).get("namespace") or "")
                    ns = self._namespace(kind, ns)
                    new, generated = self._prepare_create(kind, ns, obj, user, False, reader)
                    prepare_for_storage(new)
                    todo.append((i, new, generated))
                except StatusError as e:
                    result.errors[i] = e
            outcomes = self.storage.create_many(
                [(kind.key_of(new), codec.encode(new)) for _, new, _ in todo]
            )
            for (i, new, generated), out in zip(todo, outcomes, strict=True):
                if isinstance(out, int):
                    get_metadata(new)["resourceVersion"] = str(out)
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

    async def update_many(
        self, resource: str, objs: Sequence[Obj | bytes], *, user: UserInfo
    ) -> BatchResult:
        """Updates with per-object optimistic concurrency, in one store batch; objects
        without a resourceVersion are retried on a concurrent write."""
        kind = self.kind(resource)
        result = BatchResult([None] * len(objs), [None] * len(objs))
        with self._request("update", kind, user, "", ""):
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
                            raise _invalid(kind, new, errs)
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
                        get_metadata(new)["resourceVersion"] = str(out)
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

    async def close(self) -> None:
        await self.watchers.close()
