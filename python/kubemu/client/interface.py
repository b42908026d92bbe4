"""The one async ``Client`` every component uses, and the types it speaks.

Two implementations share this protocol: ``InProcessClient`` (calls the apiserver core
directly: same validation, admission and watch code, no serialisation) and ``GrpcClient``
(proto/kubemu/v1 over loopback or a unix socket). Components (scheduler, controllers, hollow
kubelets, the CLI, locust users) depend on this protocol only.

Objects are Kubernetes-shaped dicts (``Obj``). Every method raises
:class:`kubemu.objects.errors.StatusError` for API errors (NotFound, Conflict, Invalid, Gone ...),
whichever implementation is used. ``resource`` is a plural resource name, optionally qualified
by group (``pods``, ``deployments``, ``deployments.apps``, ``leases.coordination.k8s.io``);
``namespace`` is ``""`` for cluster-scoped kinds and for lists/watches across all namespaces.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from kubemu.objects.errors import StatusError
from kubemu.objects.meta import set_resource_version

__all__ = [
    "BatchResult",
    "BatchWatchStream",
    "Client",
    "DeleteOptions",
    "EventType",
    "ListOptions",
    "Obj",
    "ObjList",
    "PatchType",
    "RawWatchItem",
    "WatchEvent",
    "WatchStream",
    "binding_object",
    "patch_body",
    "raw_item",
]

Obj = dict[str, Any]


class PatchType(StrEnum):
    """Content types of ``Client.patch``, as Kubernetes names them."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


@dataclass(frozen=True)
class ListOptions:
    """meta/v1 ListOptions: selectors, paging and resourceVersion semantics.

    ``resource_version``: ``""`` newest (a consistent read), ``"0"`` any (the newest the
    server has, no consistency promise), ``"N"`` exactly at N for lists with
    ``resource_version_match="Exact"`` or not older than N otherwise; for watches, the revision
    after which events are sent (``""``/``"0"``: start with synthetic ADDED events of the
    current state, as kube-apiserver does).
    ``node_names`` is a kubemu extension for node pools: only pods whose ``spec.nodeName`` is in
    the set (one stream for thousands of hollow nodes).
    """

    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    allow_watch_bookmarks: bool = False
    timeout_seconds: int | None = None
    node_names: frozenset[str] | None = None


@dataclass(frozen=True)
class DeleteOptions:
    """meta/v1 DeleteOptions (propagationPolicy is accepted; garbage collection comes with the
    controller-manager)."""

    grace_period_seconds: int | None = None
    preconditions_uid: str | None = None
    preconditions_resource_version: str | None = None
    propagation_policy: str | None = None
    dry_run: bool = False


@dataclass
class ObjList:
    """A list response: ``kind`` is ``<Kind>List``; ``items`` carry their resourceVersion."""

    kind: str
    api_version: str
    resource_version: str
    items: list[Obj]
    continue_: str = ""
    remaining_item_count: int | None = None

    def to_dict(self) -> Obj:
        """The list as kubectl prints it (``kind: PodList``, ``metadata``, ``items``)."""
        meta: Obj = {"resourceVersion": self.resource_version}
        if self.continue_:
            meta["continue"] = self.continue_
        if self.remaining_item_count is not None:
            meta["remainingItemCount"] = self.remaining_item_count
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": meta,
            "items": self.items,
        }


@dataclass(frozen=True)
class WatchEvent:
    """One watch event. ``object`` is the object (ADDED/MODIFIED/DELETED: the object as of the
    event; DELETED: its last state with the deletion's resourceVersion), a bookmark (only
    ``metadata.resourceVersion`` set) or, for ERROR, a ``Status`` dict (Gone: relist)."""

    type: EventType
    object: Obj

    @property
    def resource_version(self) -> str:
        rv: str = self.object.get("metadata", {}).get("resourceVersion", "")
        return rv


class WatchStream(Protocol):
    """An open watch: async-iterate for events; ``close()`` ends it (idempotent). The stream
    ends after an ERROR event, when the server drops a slow reader, or on timeout."""

    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    async def close(self) -> None: ...


RawWatchItem = tuple[str, int, bytes]
"""An undecoded watch event: (type, resourceVersion, msgpack bytes). ADDED/MODIFIED/DELETED/
BOOKMARK: the object as stored, **without** ``metadata.resourceVersion`` (it is the second
field); ERROR: the ``Status``, resourceVersion 0."""


@runtime_checkable
class BatchWatchStream(WatchStream, Protocol):
    """A watch that also hands out its events in lists (both clients' streams are): one await
    per batch instead of per event. ``batches()`` gives decoded :class:`WatchEvent` s,
    ``raw_batches()`` :data:`RawWatchItem` s for consumers that decode msgpack themselves (the
    Rust scheduler). Each batch is what had arrived at the time, in order; an ERROR event is
    the last one. Read a stream through one of the three ways (iteration, ``batches()``,
    ``raw_batches()``) at a time."""

    def batches(self) -> AsyncIterator[list[WatchEvent]]: ...

    def raw_batches(self) -> AsyncIterator[list[RawWatchItem]]: ...


def raw_item(event: WatchEvent) -> RawWatchItem:
    """A decoded event back as a :data:`RawWatchItem` (its object re-encoded without
    ``metadata.resourceVersion``)."""
    from kubemu.apiserver.codec import encode  # here: the apiserver package imports this one

    obj = event.object
    if event.type == EventType.ERROR:
        return (event.type.value, 0, encode(obj))
    meta = obj.get("metadata")
    rv = 0
    if isinstance(meta, dict) and "resourceVersion" in meta:
        meta = dict(meta)
        try:
            rv = int(meta.pop("resourceVersion") or 0)
        except (TypeError, ValueError):
            rv = 0
        obj = {**obj, "metadata": meta}
    return (event.type.value, rv, encode(obj))


class BatchResult:
    """Per-item outcome of a batch call: the stored object or the error, in request order.

    Objects may arrive as stored bytes (:meth:`stored_objects`): they are decoded, all in one
    call, the first time :attr:`objects` is read, so a caller that reads only the errors does
    not pay for them. Either way :attr:`objects` is what one ``create`` per object returns."""

    __slots__ = ("_decode", "_objects", "_stored", "errors")

    def __init__(
        self,
        objects: list[Obj | None] | None = None,
        errors: list[StatusError | None] | None = None,
    ) -> None:
        self._objects: list[Obj | None] = [] if objects is None else objects
        self.errors: list[StatusError | None] = [] if errors is None else errors
        self._stored: dict[int, tuple[bytes, int]] = {}
        self._decode: Callable[[list[bytes]], list[Obj]] | None = None

    @classmethod
    def stored_objects(
        cls,
        objects: list[Obj | None],
        errors: list[StatusError | None],
        stored: dict[int, tuple[bytes, int]],
        decode_all: Callable[[list[bytes]], list[Obj]],
    ) -> BatchResult:
        """A result whose items at the indexes of ``stored`` are ``(stored bytes,
        resourceVersion)``: ``objects[i]`` is ``decode_all`` of the bytes (a fresh dict) with
        ``metadata.resourceVersion`` set, made when :attr:`objects` is first read."""
        result = cls(objects, errors)
        result._stored = stored
        result._decode = decode_all
        return result

    @property
    def objects(self) -> list[Obj | None]:
        if self._stored:
            self._decode_stored()
        return self._objects

    @objects.setter
    def objects(self, value: list[Obj | None]) -> None:
        self._objects = value
        self._stored = {}

    def stored(self, index: int) -> tuple[bytes, int] | None:
        """Item ``index`` as ``(stored bytes, resourceVersion)`` while it is not decoded
        (for transports that send the bytes on), else None."""
        return self._stored.get(index)

    def decoded(self, index: int) -> Obj | None:
        """Item ``index`` if it is held as an object, None if it is an error or held as stored
        bytes (:meth:`stored`); nothing is decoded."""
        return None if index in self._stored else self._objects[index]

    def _decode_stored(self) -> None:
        stored = self._stored
        assert self._decode is not None
        decoded = self._decode([data for data, _ in stored.values()])
        self._stored = {}
        objects = self._objects
        for (i, (_, rv)), obj in zip(stored.items(), decoded, strict=True):
            set_resource_version(obj, rv)
            objects[i] = obj

    @property
    def ok(self) -> bool:
        return all(e is None for e in self.errors)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BatchResult):
            return NotImplemented
        return (self.objects, self.errors) == (other.objects, other.errors)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it was

    def __repr__(self) -> str:
        return f"BatchResult(objects={self.objects!r}, errors={self.errors!r})"


@runtime_checkable
class Client(Protocol):
    """The apiserver's API. Semantics are Kubernetes' (docs/apiserver.md)."""

    async def create(
        self, resource: str, namespace: str, obj: Obj, *, dry_run: bool = False
    ) -> Obj: ...

    async def get(self, resource: str, namespace: str, name: str) -> Obj: ...

    async def list(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> ObjList: ...

    async def update(self, resource: str, namespace: str, obj: Obj) -> Obj: ...

    async def update_status(self, resource: str, namespace: str, obj: Obj) -> Obj: ...

    async def patch(
        self,
        resource: str,
        namespace: str,
        name: str,
        patch: bytes | Obj | Sequence[Obj],
        patch_type: PatchType = PatchType.MERGE,
        *,
        subresource: str = "",
    ) -> Obj: ...

    async def delete(
        self, resource: str, namespace: str, name: str, options: DeleteOptions | None = None
    ) -> Obj:
        """Returns the object as left by the delete: with ``deletionTimestamp`` when deletion is
        graceful or held by finalizers, else its last state."""
        ...

    async def delete_collection(
        self,
        resource: str,
        namespace: str,
        options: ListOptions | None = None,
        delete_options: DeleteOptions | None = None,
    ) -> ObjList: ...

    async def watch(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> WatchStream: ...

    async def bind(self, namespace: str, name: str, node_name: str, *, uid: str = "") -> None:
        """``pods/binding``: sets ``spec.nodeName`` (Conflict if the pod is already bound)."""
        ...

    # Batches for the emulator's own heavy traffic: one call, one store batch.
    async def create_many(
        self, resource: str, namespace: str, objs: Sequence[Obj]
    ) -> BatchResult: ...

    async def bind_many(self, bindings: Sequence[tuple[str, str, str]]) -> BatchResult:
        """(namespace, pod name, node name) triples."""
        ...

    async def update_many(self, resource: str, objs: Sequence[Obj]) -> BatchResult:
        """Updates with per-object optimistic concurrency."""
        ...

    async def renew_leases(
        self, leases: Sequence[tuple[str, str]], renew_time: str | None = None
    ) -> BatchResult:
        """Sets ``spec.renewTime`` of many (namespace, name) Leases, node heartbeats in one
        call: ``renew_time`` a metav1.MicroTime, None for the server's clock. Per item the
        Lease or the error (NotFound: create it)."""
        ...

    async def close(self) -> None: ...


def patch_body(patch: bytes | Obj | Sequence[Obj]) -> bytes:
    """A patch as the JSON bytes the apiserver takes: bytes as given, a document encoded."""
    return patch if isinstance(patch, bytes) else json.dumps(patch).encode()


def binding_object(namespace: str, name: str, node_name: str, uid: str = "") -> Obj:
    """The ``Binding`` of pod ``namespace/name`` to ``node_name`` that ``Client.bind`` posts
    (``uid``, if set, is the pod's UID precondition)."""
    binding: Obj = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": namespace},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
    }
    if uid:
        binding["metadata"]["uid"] = uid
    return binding


def selector_from_mapping(labels: Mapping[str, str]) -> str:
    """``{"app": "x", "tier": "web"}`` → ``"app=x,tier=web"`` (a label selector string)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
