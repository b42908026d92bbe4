"""Informers → the scheduling cores' caches and the scheduling queue.

Four informers (shared through an :class:`~kubemu.client.informer.InformerFactory`):

* **nodes**: added, updated and removed in every core's cache. A node add, or an update that
  changes what scheduling looks at (labels, taints, ``spec.unschedulable``, allocatable,
  conditions' statuses, images), moves every unschedulable pod (upstream's move on
  ``NodeAdd``/``NodeUpdate``; heartbeats alone move nothing);
* **namespaces**: their labels, for namespace selectors of pod affinity terms (if the core takes
  them);
* **pods**: *assigned* pods (``spec.nodeName`` set) feed the caches; a terminated one
  (Succeeded/Failed) leaves them, as does a deleted one, and both move the unschedulable pods
  (``AssignedPodDelete``). *Pending* pods whose ``spec.schedulerName`` is one of the profiles'
  feed the queue (add, update, delete); other schedulers' pods are ignored. Their
  ``status.nominatedNodeName`` feeds the cores' nominators (upstream's nominator follows the
  same events: an update that neither had nor has a nomination keeps one the scheduler made in
  memory; a bound or deleted pod loses its nomination);
* **poddisruptionbudgets** (policy/v1): added, updated and removed in every core, for
  preemption.

Core calls are not made from the handlers: they are buffered (coalesced per object: the last
operation wins) and applied by :meth:`CacheSync.apply` on the scheduling thread, right before a
batch, so the Rust cache is never touched by two threads and never blocks the event loop.

Two operations are left out because they would not change what the cores hold:

* a pod this scheduler placed (:meth:`CacheSync.assumed`: the cores assumed it on its node when
  they chose the node) that the informer then reports assigned *to that node*, with no update
  of the pending pod seen in between (the queue still holds the very object the cores were
  given), is not added again: watch events come in write order, so the assigned object differs
  from the assumed one only by what a binding writes (``spec.nodeName``, the PodScheduled
  condition), which the cores already hold (upstream's cache confirms an assumed pod the same
  way). Otherwise (another node, an update meanwhile) it is added as usual;
* dropping the nomination of a pod the cores were never told was nominated (no
  ``nominatedNodeName`` seen, no preemption decided for it: :meth:`CacheSync.nominated`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from kubemu.apiserver import codec
from kubemu.client.indexer import DeletedFinalStateUnknown, tombstone_object
from kubemu.client.informer import InformerFactory, SharedInformer
from kubemu.scheduler import core as core_mod
from kubemu.scheduler.config import DEFAULT_SCHEDULER_NAME
from kubemu.scheduler.core import SchedulingCore
from kubemu.scheduler.queue import SchedulingQueue, pod_key

__all__ = ["CacheSync", "Op"]

Obj = dict[str, Any]
Op = tuple[str, Any]
"""(operation, argument): ``node`` bytes, ``node-``, name, ``ns`` bytes, ``ns-`` name,
``pod`` bytes, ``pod-`` (namespace, name), ``forget`` (namespace, name), ``pdb`` bytes, ``pdb-``
(namespace, name), ``nom`` (pod bytes, had a nomination before), ``nom-`` (namespace, name)."""

_TERMINAL: Final = ("Succeeded", "Failed")


def _meta(obj: Obj) -> Obj:
    m: Obj = obj.get("metadata") or {}
    return m


def _nominated_node(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("nominatedNodeName") or "")


def _assigned(obj: Obj | DeletedFinalStateUnknown) -> bool:
    return bool((tombstone_object(obj).get("spec") or {}).get("nodeName"))


def _pod_sched_view(pod: Obj) -> tuple[Any, ...]:
    """What scheduling looks at on an assigned pod: its spec and labels, and for preemption
    its deletionTimestamp, startTime and DisruptionTarget condition."""
    meta, status = _meta(pod), pod.get("status") or {}
    disruption = [
        (c.get("status"), c.get("reason"))
        for c in status.get("conditions") or []
        if isinstance(c, dict) and c.get("type") == "DisruptionTarget"
    ]
    return (
        pod.get("spec"),
        meta.get("labels"),
        meta.get("deletionTimestamp"),
        status.get("startTime"),
        disruption,
    )


def _node_sched_view(node: Obj) -> tuple[Any, ...]:
    """What scheduling looks at on a node (upstream ``nodeSchedulingPropertiesChange``)."""
    meta, spec, status = _meta(node), node.get("spec") or {}, node.get("status") or {}
    conditions = sorted(
        (c.get("type", ""), c.get("status", ""))
        for c in status.get("conditions") or []
        if isinstance(c, dict)
    )
    return (
        meta.get("labels"),
        spec.get("unschedulable"),
        spec.get("taints"),
        status.get("allocatable"),
        conditions,
        status.get("images"),
    )


class CacheSync:
    """Keeps ``cores`` (one per profile) and ``queue`` in step with the cluster."""

    def __init__(
        self,
        queue: SchedulingQueue,
        cores: Sequence[SchedulingCore],
        scheduler_names: frozenset[str],
        *,
        encode: Callable[[Obj], bytes] = codec.encode,
    ) -> None:
        self.queue = queue
        self.cores = list(cores)
        self.scheduler_names = scheduler_names
        self.encode = encode
        self._ops: dict[tuple[str, str], Op] = {}
        self._assigned: set[str] = set()
        self._assumed: dict[str, tuple[str, Obj]] = {}
        """Pods placed by this scheduler and not yet seen assigned: key → (node, the pod as
        the cores were given it)."""
        self._nominated: set[str] = set()
        """Pods whose nomination the cores may hold."""
        self.informers: list[SharedInformer] = []
        self.pods_informer: SharedInformer | None = None

    # -- wiring ----------------------------------------------------------------------------------

    def register(self, factory: InformerFactory) -> list[SharedInformer]:
        """Add the handlers to the factory's nodes, namespaces and pods informers."""
        nodes = factory.informer("nodes")
        nodes.add_event_handler(self.on_node_add, self.on_node_update, self.on_node_delete)
        namespaces = factory.informer("namespaces")
        namespaces.add_event_handler(
            self.on_namespace_add, self.on_namespace_update, self.on_namespace_delete
        )
        pods = factory.informer("pods")
        pods.add_event_handler(
            self.on_assigned_pod_add,
            self.on_assigned_pod_update,
            self.on_assigned_pod_delete,
            filter_func=_assigned,
        )
        pods.add_event_handler(
            self.on_pending_pod_add,
            self.on_pending_pod_update,
            self.on_pending_pod_delete,
            filter_func=self.responsible_for,
        )
        pdbs = factory.informer("poddisruptionbudgets")
        pdbs.add_event_handler(self.on_pdb_add, self.on_pdb_update, self.on_pdb_delete)
        self.informers = [nodes, namespaces, pods, pdbs]
        self.pods_informer = pods
        return self.informers

    def responsible_for(self, obj: Obj | DeletedFinalStateUnknown) -> bool:
        """A pending pod of one of our profiles."""
        spec = tombstone_object(obj).get("spec") or {}
        name = spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME
        return not spec.get("nodeName") and name in self.scheduler_names

    # -- the operation buffer -------------------------------------------------------------------

    @property
    def pending_ops(self) -> int:
        return len(self._ops)

    def take(self) -> list[Op]:
        """The buffered operations, in order (the buffer starts again empty). Call on the
        event loop; apply them with :meth:`apply` on any thread."""
        ops = list(self._ops.values())
        self._ops = {}
        return ops

    def apply(self, ops: Sequence[Op]) -> None:
        """Apply operations to every core."""
        for core in self.cores:
            for op, arg in ops:
                if op == "node":
                    core.add_node(arg)
                elif op == "node-":
                    core.remove_node(arg)
                elif op == "pod":
                    core.add_pod(arg)
                elif op == "pod-":
                    core.remove_pod(*arg)
                elif op == "forget":
                    core.forget(*arg)
                elif op == "ns":
                    core_mod.set_namespace(core, arg)
                elif op == "ns-":
                    core_mod.remove_namespace(core, arg)
                elif op == "pdb":
                    core_mod.set_pdb(core, arg)
                elif op == "pdb-":
                    core_mod.remove_pdb(core, *arg)
                elif op == "nom":
                    core_mod.set_nominated_pod(core, *arg)
                elif op == "nom-":
                    core_mod.remove_nominated_pod(core, *arg)

    def flush(self) -> None:
        """``apply(take())`` here and now (tests; nothing else may be using the cores)."""
        self.apply(self.take())

    def _put(self, kind: str, key: str, op: Op) -> None:
        k = (kind, key)
        self._ops.pop(k, None)  # re-inserted at the end: ops stay in event order
        self._ops[k] = op

    def forget(self, namespace: str, name: str) -> None:
        """Un-assume a pod whose binding failed, unless the informer has meanwhile seen it
        assigned (then the cache holds the real placement, which must stay)."""
        key = f"{namespace}/{name}"
        self._assumed.pop(key, None)
        if key not in self._assigned:
            self._put("pod", key, ("forget", (namespace, name)))

    def assumed(self, key: str, node: str, pod: Obj) -> None:
        """The cores placed ``pod`` (the object they were given) on ``node`` and assumed it
        there; an assigned event for it that changes nothing they read is not applied again.
        Call on the event loop, after the batch that placed it."""
        if key not in self._assigned:  # else the cores already have the informer's version
            self._assumed[key] = (node, pod)

    def nominated(self, key: str) -> None:
        """A core nominated the pod (preemption): a later drop of its nomination must reach the
        cores; at once if the pod is no longer pending (deleted or bound while the batch ran).
        Call on the event loop, after the batch."""
        if key in self.queue and key not in self._assigned:
            self._nominated.add(key)
        else:
            ns, _, name = key.partition("/")
            self._put("nom", key, ("nom-", (ns, name)))

    def is_assigned(self, key: str) -> bool:
        """The informer has seen the pod with ``spec.nodeName``."""
        return key in self._assigned

    # -- nodes -------------------------------------------------------------------------------------

    def on_node_add(self, node: Obj) -> None:
        self._put("node", _meta(node).get("name", ""), ("node", self.encode(node)))
        self.queue.move_all_to_active_or_backoff("NodeAdd")

    def on_node_update(self, old: Obj, new: Obj) -> None:
        self._put("node", _meta(new).get("name", ""), ("node", self.encode(new)))
        if _node_sched_view(old) != _node_sched_view(new):
            self.queue.move_all_to_active_or_backoff("NodeUpdate")

    def on_node_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        name = _meta(tombstone_object(obj)).get("name", "")
        self._put("node", name, ("node-", name))

    # -- namespaces --------------------------------------------------------------------------------

    def on_namespace_add(self, ns: Obj) -> None:
        self._put("ns", _meta(ns).get("name", ""), ("ns", self.encode(ns)))

    def on_namespace_update(self, old: Obj, new: Obj) -> None:
        if _meta(old).get("labels") != _meta(new).get("labels"):
            self.on_namespace_add(new)

    def on_namespace_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        name = _meta(tombstone_object(obj)).get("name", "")
        self._put("ns", name, ("ns-", name))

    # -- assigned pods -----------------------------------------------------------------------------

    def on_assigned_pod_add(self, pod: Obj) -> None:
        if (pod.get("status") or {}).get("phase") in _TERMINAL:
            return
        key = pod_key(pod)
        if key not in self._assigned:
            self._drop_nomination(key)
        self._assigned.add(key)
        assumed = self._assumed.pop(key, None)
        if assumed is not None and assumed[0] == (pod.get("spec") or {}).get("nodeName"):
            qp = self.queue.get(key)
            if qp is not None and qp.pod is assumed[1]:
                return  # the cores hold it on that node already, as it is
        self._put("pod", key, ("pod", self.encode(pod)))

    def on_assigned_pod_update(self, old: Obj, new: Obj) -> None:
        if (new.get("status") or {}).get("phase") in _TERMINAL:
            if (old.get("status") or {}).get("phase") not in _TERMINAL:
                self._remove_assigned(new)
            return
        if _pod_sched_view(old) != _pod_sched_view(new):
            self.on_assigned_pod_add(new)
        elif pod_key(new) not in self._assigned:
            self.on_assigned_pod_add(new)

    def on_assigned_pod_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        self._remove_assigned(tombstone_object(obj))

    def _remove_assigned(self, pod: Obj) -> None:
        meta = _meta(pod)
        key = pod_key(pod)
        self._assigned.discard(key)
        self._assumed.pop(key, None)
        self._put("pod", key, ("pod-", (meta.get("namespace", ""), meta.get("name", ""))))
        self.queue.delete(key)
        self.queue.move_all_to_active_or_backoff("AssignedPodDelete")

    def _drop_nomination(self, key: str) -> None:
        if key not in self._nominated:
            return  # the cores hold no nomination for it
        self._nominated.discard(key)
        ns, _, name = key.partition("/")
        self._put("nom", key, ("nom-", (ns, name)))

    # -- pod disruption budgets ----------------------------------------------------------------

    def on_pdb_add(self, pdb: Obj) -> None:
        meta = _meta(pdb)
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        self._put("pdb", key, ("pdb", self.encode(pdb)))

    def on_pdb_update(self, old: Obj, new: Obj) -> None:
        if old.get("spec") != new.get("spec") or old.get("status") != new.get("status"):
            self.on_pdb_add(new)

    def on_pdb_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        meta = _meta(tombstone_object(obj))
        ns, name = meta.get("namespace", ""), meta.get("name", "")
        self._put("pdb", f"{ns}/{name}", ("pdb-", (ns, name)))

    # -- pending pods ------------------------------------------------------------------------------

    def on_pending_pod_add(self, pod: Obj) -> None:
        self.queue.add(pod)
        if _nominated_node(pod):
            key = pod_key(pod)
            self._nominated.add(key)
            self._put("nom", key, ("nom", (self.encode(pod), True)))

    def on_pending_pod_update(self, old: Obj, new: Obj) -> None:
        self.queue.update(old, new)
        had = bool(_nominated_node(old))
        if had or _nominated_node(new):
            key = pod_key(new)
            self._nominated.add(key)
            self._put("nom", key, ("nom", (self.encode(new), had)))

    def on_pending_pod_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = tombstone_object(obj)
        key = pod_key(pod)
        self.queue.delete(key)
        self._drop_nomination(key)
        if not (pod.get("spec") or {}).get("nodeName") and key not in self._assigned:
            # Deleted while pending (not just assigned): drop an assumption, if any.
            self._assumed.pop(key, None)
            self._put("pod", key, ("pod-", (key.partition("/")[0], key.partition("/")[2])))
