"""The plumbing every verb of the apiserver shares: :class:`ServerCore` (the state — storage,
registry, admission chain, authentication and authorization, metrics, the watch fan-out — and
the helpers the verb modules call: kind lookup, request accounting and authorization, namespace
checks, decoding requests and stored objects, admission attributes and the readers admission
plugins read through). The verbs subclass it (:mod:`~kubemu.apiserver.creating`,
:mod:`~kubemu.apiserver.updating`, :mod:`~kubemu.apiserver.binding`,
:mod:`~kubemu.apiserver.batches`) and :class:`~kubemu.apiserver.handlers.APIServer` joins them.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final

from kubemu.apiserver import codec
from kubemu.apiserver.admission import (
    AdmissionChain,
    Attributes,
    ObjectReader,
    Operation,
    default_chain,
)
from kubemu.apiserver.auth import AlwaysAllow, Authenticator, Authorizer
from kubemu.apiserver.create_memo import CreateMemos, ReadLog
from kubemu.apiserver.metrics import Metrics
from kubemu.apiserver.request import RequestInfo, UserInfo, is_readonly
from kubemu.apiserver.storage import KeyExists, Storage, StoredObject
from kubemu.apiserver.watch import WatchFanout
from kubemu.objects import REGISTRY, Registry, StatusError
from kubemu.objects.errors import Reason, required
from kubemu.objects.kinds.base import Kind
from kubemu.objects.meta import now_rfc3339, prepare_for_storage, set_resource_version

__all__ = ["SYSTEM_NAMESPACES", "ServerCore"]

Obj = dict[str, Any]

SYSTEM_NAMESPACES: Final = ("default", "kube-system", "kube-public", "kube-node-lease")


class _CachingReader:
    """An :class:`ObjectReader` that reads each object once per request (or batch). The
    objects are shared (read-only): within the request, and across requests through the
    server's :class:`_DecodedCache` while the stored object is unchanged. With a ``log``
    (:class:`~kubemu.apiserver.create_memo.ReadLog`) it also records what it read: each
    object's key and mod_revision (None when absent), each listing's keys and mod_revisions."""

    __slots__ = ("_cache", "_log", "_server")

    def __init__(self, server: ServerCore, log: ReadLog | None = None) -> None:
        self._server = server
        self._log = log
        self._cache: dict[tuple[str, str, str], Any] = {}

    def read(self, resource: str, namespace: str, name: str) -> Obj | None:
        key = (resource, namespace, name)
        if key not in self._cache:
            server = self._server
            store_key = server.kind(resource).key(namespace or None, name)
            stored = server.storage.get(store_key)
            if self._log is not None:
                self._log.gets[store_key] = None if stored is None else stored.revision
            self._cache[key] = None if stored is None else server._decoded.decode(stored)
        found: Obj | None = self._cache[key]
        return found

    def read_all(self, resource: str, namespace: str = "") -> builtins.list[Obj]:
        key = (resource, namespace, "\x00all")
        if key not in self._cache:
            server = self._server
            prefix = server.kind(resource).prefix(namespace or None)
            items = server.storage.list(prefix).items
            if self._log is not None:
                self._log.lists[prefix] = tuple((s.key, s.revision) for s in items)
            decode = server._decoded.decode
            self._cache[key] = [decode(s) for s in items]
        found: builtins.list[Obj] = self._cache[key]
        return found


class _DecodedCache:
    """Decoded stored objects by key, each valid while its key's mod_revision is the one it
    was decoded at (a key's value never changes without its mod_revision), for the objects
    admission reads on every request (the namespace, the PriorityClasses). The objects are
    shared: callers must not modify them."""

    __slots__ = ("_entries",)

    MAX_ENTRIES: Final = 4096
    """Beyond this many keys the cache starts over (it holds what admission reads: few)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, tuple[int, Obj]] = {}

    def decode(self, stored: StoredObject) -> Obj:
        """:meth:`ServerCore._decode` of ``stored``, decoded once per key and revision."""
        entry = self._entries.get(stored.key)
        if entry is not None and entry[0] == stored.revision:
            return entry[1]
        obj = ServerCore._decode(stored)
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[stored.key] = (stored.revision, obj)
        return obj


class _Request:
    """Authorization, in-flight gauge, request counter and latency of one request."""

    __slots__ = ("kind", "server", "start", "subresource", "verb")

    def __init__(self, server: ServerCore, verb: str, kind: Kind, subresource: str) -> None:
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
        key = (self.verb, self.kind.plural, self.subresource, code)
        children = self.server._metric_children.get(key)
        if children is None:  # labels() resolves the same children every time: once per key
            children = (
                m.request_total.labels(*key),
                m.request_duration.labels(self.verb, self.kind.plural, self.subresource),
            )
            self.server._metric_children[key] = children
        children[0].inc()
        children[1].observe(time.perf_counter() - self.start)


class ServerCore:
    """The apiserver's state and the plumbing its verbs share (see the module)."""

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
        self._decoded = _DecodedCache()
        self._create_memos = CreateMemos()
        self._metric_children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
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

    def caching_reader(self, log: ReadLog | None = None) -> ObjectReader:
        """An ObjectReader that reads each object once (for a request or a batch), recording
        what it read in ``log`` when given."""
        return _CachingReader(self, log)

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
        set_resource_version(obj, stored.revision)
        return obj

    def _decode_in(self, obj: Obj | bytes, kind: Kind) -> Obj:
        return self._check_in(codec.copy_object(obj, max_bytes=self.max_request_bytes), kind)

    def _decode_in_bytes(self, obj: Obj | bytes, kind: Kind) -> tuple[Obj, bytes]:
        """:meth:`_decode_in` and the request's msgpack bytes (:func:`codec.copy_object_bytes`:
        decoding them again gives the request's object before :meth:`_check_in`)."""
        new, data = codec.copy_object_bytes(obj, max_bytes=self.max_request_bytes)
        return self._check_in(new, kind), data

    @staticmethod
    def _check_in(new: Obj, kind: Kind) -> Obj:
        """A request object's apiVersion/kind (set to the kind's) and metadata type."""
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
