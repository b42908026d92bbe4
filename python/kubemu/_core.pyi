"""Type stub of the compiled extension ``kubemu._core`` (rust/kubemu-py).

Hand-written, kept in step with the module by ``tests/test_core_stub.py``.
Semantics are etcd v3's; see ``kubemu.store`` for the Pythonic face.
"""

from collections.abc import Callable, Collection, Iterable, Sequence
from os import PathLike
from typing import Any, Final, Literal, final

from typing_extensions import disjoint_base

__version__: Final[str]
__all__ = [
    "CompactedError",
    "Compare",
    "CorruptionError",
    "DeleteRangeResponse",
    "DuplicateKeyError",
    "EtcdServer",
    "Event",
    "FieldPaths",
    "FutureRevisionError",
    "InvalidArgumentError",
    "KeyNotFoundError",
    "KeyValue",
    "LeaseExistsError",
    "LeaseGrant",
    "LeaseNotFoundError",
    "LeaseTimeToLive",
    "NoSpaceError",
    "Op",
    "PutResponse",
    "RangeResponse",
    "RequestTooLargeError",
    "ScheduleResult",
    "Scheduler",
    "Stamper",
    "Status",
    "Store",
    "StoreClosedError",
    "StoreError",
    "TooManyOpsError",
    "TxnResponse",
    "WatchResponse",
    "WatchRouter",
    "WatchStream",
    "__version__",
    "pack_many",
    "snapshot_restore",
    "unpack_many",
]

SortOrder = Literal["none", "ascend", "descend"]
SortTarget = Literal["key", "version", "create", "mod", "value"]
CompareTarget = Literal["version", "create", "mod", "value", "lease"]
CompareResult = Literal["=", "==", "!=", ">", "<"]
WatchFilter = Literal["noput", "nodelete"]
ScheduleStatus = Literal["scheduled", "unschedulable", "error"]

class StoreError(Exception):
    """Base class of every error the store raises."""

class InvalidArgumentError(StoreError, ValueError):
    """The request is malformed (empty key, range_end <= key, bad enum...)."""

class CompactedError(StoreError):
    """The requested revision has been compacted."""

class FutureRevisionError(StoreError):
    """The requested revision is above the current revision."""

class LeaseNotFoundError(StoreError):
    """The lease does not exist (never granted, revoked or expired)."""

class LeaseExistsError(StoreError):
    """A lease with the requested id already exists."""

class KeyNotFoundError(StoreError):
    """ignore_value/ignore_lease on a key that does not exist."""

class RequestTooLargeError(StoreError):
    """A key or value (or a whole txn) is over the request size limit."""

class TooManyOpsError(StoreError):
    """A txn has more compares or ops than max_txn_ops."""

class DuplicateKeyError(StoreError):
    """A txn writes the same key twice."""

class NoSpaceError(StoreError):
    """The NOSPACE alarm is raised: the store is over its quota."""

class CorruptionError(StoreError):
    """The data dir or snapshot file is corrupt; nothing was loaded."""

class StoreClosedError(StoreError):
    """The store was closed, or failed and refuses further writes."""

@final
class KeyValue:
    """One version of a key (etcd mvccpb.KeyValue)."""

    @property
    def key(self) -> bytes: ...
    @property
    def value(self) -> bytes: ...
    @property
    def create_revision(self) -> int: ...
    @property
    def mod_revision(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def lease(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Event:
    """A watch event; ``type`` is "PUT" or "DELETE"."""

    @property
    def type(self) -> Literal["PUT", "DELETE"]: ...
    @property
    def kv(self) -> KeyValue: ...
    @property
    def prev_kv(self) -> KeyValue | None: ...

@final
class PutResponse:
    @property
    def revision(self) -> int: ...
    @property
    def prev_kv(self) -> KeyValue | None: ...

@final
class RangeResponse:
    @property
    def revision(self) -> int: ...
    @property
    def kvs(self) -> list[KeyValue]: ...
    @property
    def more(self) -> bool: ...
    @property
    def count(self) -> int: ...

@final
class DeleteRangeResponse:
    @property
    def revision(self) -> int: ...
    @property
    def deleted(self) -> int: ...
    @property
    def prev_kvs(self) -> list[KeyValue]: ...

@final
class TxnResponse:
    @property
    def revision(self) -> int: ...
    @property
    def succeeded(self) -> bool: ...
    @property
    def responses(
        self,
    ) -> list[RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse]: ...

@final
class Compare:
    """One txn compare; ``value`` is an int, or bytes for target "value"."""

    def __new__(
        cls,
        key: bytes,
        target: CompareTarget,
        result: CompareResult,
        value: int | bytes,
        range_end: bytes | None = None,
    ) -> Compare: ...

@final
class Op:
    """One txn operation (etcd RequestOp); build with the static methods."""

    @staticmethod
    def put(
        key: bytes,
        value: bytes = ...,
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> Op: ...
    @staticmethod
    def range(
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        sort_order: SortOrder = "none",
        sort_target: SortTarget = "key",
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> Op: ...
    @staticmethod
    def delete(key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False) -> Op: ...
    @staticmethod
    def txn(compare: Sequence[Compare], success: Sequence[Op], failure: Sequence[Op]) -> Op: ...

@final
class LeaseGrant:
    @property
    def id(self) -> int: ...
    @property
    def ttl(self) -> int: ...
    @property
    def revision(self) -> int: ...

@final
class LeaseTimeToLive:
    @property
    def id(self) -> int: ...
    @property
    def ttl(self) -> int:
        """Remaining seconds; -1 when the lease does not exist (as etcd)."""
    @property
    def granted_ttl(self) -> int: ...
    @property
    def keys(self) -> list[bytes]: ...

@final
class Status:
    @property
    def revision(self) -> int: ...
    @property
    def compact_revision(self) -> int: ...
    @property
    def db_size(self) -> int: ...
    @property
    def db_size_in_use(self) -> int: ...
    @property
    def quota_bytes(self) -> int: ...
    @property
    def keys(self) -> int: ...
    @property
    def alarms(self) -> list[str]: ...
    @property
    def recovery_warnings(self) -> list[str]: ...

@final
class WatchResponse:
    """One message of a watch stream (etcd WatchResponse)."""

    @property
    def watch_id(self) -> int: ...
    @property
    def revision(self) -> int:
        """Header revision: all later events of this watch have higher revisions."""
    @property
    def created(self) -> bool: ...
    @property
    def canceled(self) -> bool: ...
    @property
    def compact_revision(self) -> int: ...
    @property
    def cancel_reason(self) -> str: ...
    @property
    def events(self) -> list[Event]: ...
    @property
    def is_progress_notify(self) -> bool: ...

@final
class WatchStream:
    """Many watches multiplexed on one bounded buffer (like one etcd Watch RPC stream).

    ``fileno()`` becomes readable when ``poll`` has something to return, so an
    asyncio loop can wait on it with ``add_reader`` instead of a thread.
    """

    def watch(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Sequence[WatchFilter] = ...,
        progress_notify: bool = False,
        watch_id: int = 0,
    ) -> int:
        """Adds a watch; ``filters`` defaults to none; ``watch_id`` 0 picks the next free id."""
    def cancel(self, watch_id: int) -> bool: ...
    def request_progress(self) -> None: ...
    def poll(self, timeout: float | None = ..., max_responses: int = 1024) -> list[WatchResponse]:
        """Responses ready now; waits up to ``timeout`` seconds (default 0; None: forever)."""
    def fileno(self) -> int: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

@final
class WatchRouter:
    """A store watch on ``prefix`` (with previous values) routed to apiserver watch streams in
    Rust (kubemu-objects' ``route``): per store event the object's namespace, labels and
    selectable fields are read once from its bytes and every candidate stream's filter applied
    to its new and previous state (ADDED/MODIFIED/DELETED as kube-apiserver's watch cache).
    ``fileno()`` turns readable when ``poll`` may have something (for ``add_reader``)."""

    def __new__(
        cls,
        store: Store,
        prefix: bytes,
        start_revision: int,
        fields: Sequence[tuple[str, Sequence[str | int], Literal["get", "or_empty", "is_true"]]],
        decode: Callable[[bytes], tuple[Any, Any, dict[str, Any]]],
        *,
        buffer_size: int = 10000,
        max_pending_events: int = 65536,
    ) -> WatchRouter:
        """``fields``: (selector name, path, rule) per selectable field (as ``FieldPaths``);
        ``decode(data)`` gives ``(namespace, labels, fields)`` of a document those rules cannot
        read; ``buffer_size``: events kept for late-joining streams. From a compacted
        ``start_revision`` the watch ends at once (``compacted``); a bad rule, an empty prefix
        or a ``start_revision`` below 1 raise ValueError."""
    def __len__(self) -> int: ...
    def add(
        self,
        stream_id: int,
        after_revision: int,
        *,
        namespace: str = ...,
        fields: Sequence[tuple[str, str, bool]] = ...,
        node_names: Collection[str] | None = None,
        labels: Sequence[tuple[str, str, Sequence[str]]] = ...,
        labels_nothing: bool = False,
    ) -> list[tuple[str, int, bytes]]:
        """Adds (or replaces) a stream that has seen every event up to ``after_revision``, with
        its filter: ``namespace`` ("" any), field terms (field, value, equal) in selector order,
        ``node_names``, label requirements (key, operator, values). Returns the buffered events
        after ``after_revision`` that it gets first."""
    def remove(self, stream_id: int) -> bool: ...
    def poll(
        self, max_responses: int = 1024
    ) -> list[tuple[int, list[tuple[str, int, bytes]]]] | None:
        """Routes what the store watch has now, without waiting: None if nothing, else per
        stream that gets events its ``(type, revision, bytes)`` items in revision order. An
        error of ``decode`` is raised."""
    def fileno(self) -> int: ...
    def request_progress(self) -> None: ...
    def close(self) -> None: ...
    @property
    def floor(self) -> int:
        """Every event after this revision is buffered or still to come."""
    @property
    def dispatched(self) -> int: ...
    @property
    def progress_revision(self) -> int: ...
    @property
    def ended(self) -> bool:
        """The store watch was canceled or closed: ``poll`` gives nothing more."""
    @property
    def compacted(self) -> tuple[int, int] | None:
        """(requested revision, compact revision) if the watch was canceled as compacted."""

@disjoint_base
class Store:
    """The MVCC watchable store. ``data_dir=None`` keeps everything in memory."""

    def __new__(
        cls,
        data_dir: str | PathLike[str] | None = None,
        *,
        quota_bytes: int = 2 * 1024**3,
        max_txn_ops: int = 128,
        max_request_bytes: int = 1536 * 1024,
        fsync: bool = True,
        snapshot_wal_bytes: int = 64 * 1024 * 1024,
        manual_clock: bool = False,
        progress_notify_interval: float = 600.0,
        commit_window: float = 0.0,
    ) -> Store: ...
    @property
    def revision(self) -> int: ...
    @property
    def compact_revision(self) -> int: ...
    def put(
        self,
        key: bytes,
        value: bytes,
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> PutResponse: ...
    def put_many(self, items: Sequence[tuple[bytes, bytes]], *, lease: int = 0) -> int:
        """One revision per pair, one crossing and one group commit; returns the last revision."""
    def create_many(
        self, items: Sequence[tuple[bytes, bytes]], *, chunk: int = 64
    ) -> list[int | None]:
        """Create-if-absent per pair: the revision it was created at, or None when the key
        existed (in the store or earlier in ``items``). ``chunk`` pairs at a time, each as one
        txn of nested ``if mod(key) == 0 then put`` txns (one revision per chunk that created
        anything; that txn's errors: empty key, request too large, NOSPACE), one crossing and
        one group commit for all; an error leaves the chunks before it committed."""
    def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        sort_order: SortOrder = "none",
        sort_target: SortTarget = "key",
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeResponse: ...
    def delete_range(
        self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False
    ) -> DeleteRangeResponse: ...
    def txn(
        self,
        compare: Sequence[Compare] = ...,
        success: Sequence[Op] = ...,
        failure: Sequence[Op] = ...,
    ) -> TxnResponse:
        """Runs compares, then success (all true) or failure ops; each list defaults to empty."""
    def compact(self, revision: int) -> int: ...
    def watch_stream(self, *, max_pending_events: int = 65536) -> WatchStream: ...
    def lease_grant(self, ttl: int, id: int = 0) -> LeaseGrant: ...
    def lease_revoke(self, id: int) -> int: ...
    def lease_keepalive(self, id: int) -> int: ...
    def lease_time_to_live(self, id: int, keys: bool = False) -> LeaseTimeToLive: ...
    def leases(self) -> list[int]: ...
    def advance_clock(self, seconds: float) -> list[int]:
        """Manual clock only: move time forward, expire due leases, return their ids."""
    def snapshot_save(self, path: str | PathLike[str]) -> int:
        """Write a self-checking snapshot file; returns its revision."""
    def status(self) -> Status: ...
    def alarms(self) -> list[str]: ...
    def alarm_disarm(self) -> None: ...
    def close(self) -> None: ...

@final
class EtcdServer:
    """The etcd v3 gRPC endpoint (KV, Watch, Lease, Cluster, Maintenance, health) over a store,
    served from Rust threads until :meth:`stop`."""

    def __new__(
        cls, store: Store, host: str = "127.0.0.1", port: int = 2379, *, name: str = "default"
    ) -> EtcdServer: ...
    @property
    def address(self) -> str:
        """``host:port`` actually bound (port 0 picks a free one)."""
    @property
    def port(self) -> int: ...
    def stop(self) -> None:
        """Stops serving; open streams end. Idempotent."""

def snapshot_restore(snapshot: str | PathLike[str], data_dir: str | PathLike[str]) -> int:
    """Create a new data dir from a snapshot file; returns the snapshot's revision."""

@final
class ScheduleResult:
    """The outcome of scheduling one pod (kubemu-sched)."""

    @property
    def pod(self) -> str:
        """``namespace/name``."""
    @property
    def node(self) -> str | None:
        """The chosen node; None when the pod was not scheduled."""
    @property
    def status(self) -> ScheduleStatus:
        """ "unschedulable": no node fits (``message`` is upstream's FitError); "error": a
        plugin failed or there are no nodes."""
    @property
    def feasible_nodes(self) -> int: ...
    @property
    def evaluated_nodes(self) -> int: ...
    @property
    def message(self) -> str | None:
        """ "0/N nodes are available: 3 Insufficient cpu, ..." when unschedulable."""
    @property
    def reasons(self) -> dict[str, int]:
        """Reason -> number of nodes that gave it (empty unless unschedulable)."""
    @property
    def scores(self) -> list[tuple[str, int, dict[str, int]]] | None:
        """With ``record_scores``: (node, total, {plugin: weighted score}) per feasible node in
        filter order; None when scoring did not run (one feasible node, or not recorded)."""
    @property
    def nominated_node(self) -> str | None:
        """After PostFilter (preemption): the node the pod is now nominated to, ``""`` when its
        nomination must be cleared, None when unchanged."""
    @property
    def victims(self) -> list[tuple[str, str, str]]:
        """Pods to delete for the nomination: (namespace, name, uid), most important first."""
    @property
    def cleared_nominations(self) -> list[tuple[str, str]]:
        """Lower-priority pods nominated to that node whose nomination must be cleared:
        (namespace, name)."""

@final
class Scheduler:
    """kube-scheduler's filter-and-score loop over a node cache (rust/kubemu-sched).

    Nodes and pods are msgpack bytes of Kubernetes objects. ``profile`` is the msgpack of a
    KubeSchedulerProfile (schedulerName, percentageOfNodesToScore, plugins, pluginConfig),
    merged with the default plugins as upstream does; None is the default profile. Decode and
    configuration errors raise ValueError."""

    def __new__(
        cls,
        seed: int = 0,
        percentage_of_nodes_to_score: int = 0,
        profile: bytes | None = None,
        *,
        record_scores: bool = False,
    ) -> Scheduler: ...
    def add_node(self, node: bytes) -> None: ...
    def update_node(self, node: bytes) -> None: ...
    def remove_node(self, name: str) -> bool: ...
    def set_namespace(self, namespace: bytes) -> str:
        """Namespace labels (msgpack of a Namespace) for pod affinity namespace selectors."""
    def remove_namespace(self, name: str) -> bool: ...
    def add_pod(self, pod: bytes) -> None:
        """Adds (or moves) a pod that has spec.nodeName."""
    def remove_pod(self, namespace: str, name: str) -> bool: ...
    def forget(self, namespace: str, name: str) -> bool:
        """Un-assumes a pod this scheduler placed (after a failed bind)."""
    def schedule_batch(self, pods: Sequence[bytes]) -> list[ScheduleResult]:
        """Schedules in order; each scheduled pod is assumed before the next."""
    def set_pdb(self, pdb: bytes) -> str:
        """Adds or replaces a policy/v1 PodDisruptionBudget (for preemption); returns
        ``namespace/name``."""
    def remove_pdb(self, namespace: str, name: str) -> bool: ...
    @property
    def pdb_count(self) -> int: ...
    def set_nominated_pod(self, pod: bytes, had_nomination: bool = True) -> None:
        """Follows a pending pod's ``status.nominatedNodeName`` (none: drop the nomination,
        unless ``had_nomination`` is False, which keeps one this scheduler made)."""
    def remove_nominated_pod(self, namespace: str, name: str) -> bool: ...
    def nominated_node(self, namespace: str, name: str) -> str | None: ...
    @property
    def node_count(self) -> int: ...
    @property
    def pod_count(self) -> int: ...
    def pod_node(self, namespace: str, name: str) -> str | None: ...
    def plugins(self, point: str) -> list[str]: ...

@final
class FieldPaths:
    """Paths looked up together in stored msgpack documents (kubemu-objects), without decoding
    them; one pass over the maps on the way. Malformed msgpack raises ValueError."""

    def __new__(
        cls,
        paths: Sequence[Sequence[str | int]],
        rules: Sequence[Literal["get", "or_empty", "is_true"] | None] | None = None,
        names: Sequence[str | None] | None = None,
    ) -> FieldPaths:
        """``paths``: str keys and int indexes, e.g. ``("status", "podIPs", 0, "ip")``;
        ``rules``, ``names``: one per path (see ``read``). A bad rule or a list of the wrong
        length raises ValueError."""
    def __len__(self) -> int: ...
    def find(self, data: bytes) -> tuple[str | bytes | bool | None, ...]:
        """Per path: the value if it is a str, None if absent (missing key, index out of range,
        nil parent), False if a parent is not a container, else the value's msgpack."""
    def read(self, data: bytes) -> tuple[Any, ...] | None:
        """Per path: its rule's string (``get``: ``parent.get(key, "")``; ``or_empty``:
        ``parent.get(key) or ""``; ``is_true``: ``"true"``/``"false"``), for a path without a
        rule what ``find`` gives; None when a rule cannot judge its value (decode instead).
        With ``names``: the values of the unnamed paths in order, then a ``dict`` of the named
        paths' values."""

@final
class Stamper:
    """Stored documents of one batch create stamped from learnt variants (requests that differ
    only in per-object values: ``metadata.name``, label values, owner reference names): see
    kubemu-objects' ``stamp`` module. Malformed msgpack raises ValueError (``stamp_run`` takes
    it as a miss)."""

    def __new__(
        cls, name_rule: Literal["dns1123-subdomain"] = "dns1123-subdomain", max_variants: int = 4096
    ) -> Stamper: ...
    def __len__(self) -> int: ...
    def learn(self, request: bytes, stored: bytes, uid: str, timestamp: str) -> bool:
        """Learns ``request``'s variant from what the slow path stored for it with ``uid`` and
        creationTimestamp ``timestamp``; whether it was learnt."""
    def stamp(self, request: bytes, uid: str, timestamp: str) -> tuple[str, bytes] | None:
        """``(name, stored document)`` for ``request``, or None when its variant is unknown or
        its name not certainly valid under the rule."""
    def stamp_run(
        self, requests: list[bytes | None], start: int, timestamp: str, key_prefix: bytes
    ) -> list[tuple[bytes, bytes]]:
        """``(key_prefix + name, stored document)`` for ``requests[start]``, ``requests[start +
        1]``, ... up to the first one not stamped (None, not bytes, an unknown variant, a name
        not certainly valid, malformed msgpack: the slow path judges it), each with a fresh
        random version 4 uid and creationTimestamp ``timestamp``. OSError if the OS's random
        source cannot be read."""

def pack_many(objs: Iterable[object]) -> list[bytes | None]:
    """Per object ``msgpack.packb(obj, use_bin_type=True)`` (the same bytes) for the exact dicts
    it packs; None for anything else (not an exact dict; a value of another type than exact
    None, bool, int, float, str, bytes, list, dict; an int beyond 64 bits; a str that is not
    valid UTF-8; nesting over 511 levels): pack those with msgpack. A dict or list met again
    in one call (the same object, e.g. a spec shared by template copies) is packed once."""

def unpack_many(docs: Sequence[bytes]) -> list[Any]:
    """``[msgpack.unpackb(d, raw=False) for d in docs]``, with equal short strs shared between
    the documents. Ext types, non-str/bytes map keys, invalid UTF-8, trailing bytes, nesting over
    1,024 levels or malformed msgpack raise ValueError."""
