"""The scheduling service: informers → queue → the Rust core, in batches → binder.

:class:`Scheduler` runs kube-scheduler's loop with a batch where upstream has one pod:

1. pop up to ``batch_size`` pods from activeQ (highest priority first);
2. off the event loop (``asyncio.to_thread``; the core releases the GIL): apply the buffered
   cache operations, then one ``schedule_batch`` per profile present in the batch, in queue
   order; each placed pod is assumed in the core's cache before the next is scheduled (with
   several profiles, placed pods are also added to the other profiles' caches);
3. unschedulable pods go to unschedulablePods with a FailedScheduling event and
   PodScheduled=False; pods whose attempt failed with an error go to backoffQ (event too).
   When the core preempted for a pod (DefaultPreemption, PostFilter), the pod's
   ``status.nominatedNodeName`` is written with its condition, and the
   :class:`~kubemu.scheduler.preemption.Preemptor` deletes the victims and clears lower
   nominations in the background; the victims' deletions move the pod on (AssignedPodDelete),
   as upstream;
4. placed pods are handed to the :class:`~kubemu.scheduler.binder.Binder` (bound in the
   background while the next batch is scheduled).

It runs until :meth:`Scheduler.stop`. ``async with Scheduler(client) as s:`` starts it (informers
synced) and stops it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from kubemu.apiserver import codec
from kubemu.client.informer import InformerFactory
from kubemu.client.interface import Client
from kubemu.client.workqueue import Clock
from kubemu.scheduler.binder import Assumed, Binder
from kubemu.scheduler.cache_sync import CacheSync, Op
from kubemu.scheduler.config import (
    DEFAULT_SCHEDULER_NAME,
    ConfigError,
    Profile,
    SchedulerConfig,
)
from kubemu.scheduler.core import (
    Outcome,
    SchedulingCore,
    preemption,
    preemption_attempted,
    rust_core,
)
from kubemu.scheduler.events import EventRecorder
from kubemu.scheduler.metrics import SchedulerMetrics
from kubemu.scheduler.preemption import Preemptor
from kubemu.scheduler.queue import QueuedPod, SchedulingQueue

__all__ = ["CoreFactory", "ErrorOutcome", "Scheduler"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

CoreFactory = Callable[[Profile, SchedulerConfig, int], SchedulingCore]
"""(profile, config, seed) → a core for that profile."""


def default_core_factory(profile: Profile, config: SchedulerConfig, seed: int) -> SchedulingCore:
    doc = profile.core_document(config.percentage_of_nodes_to_score)
    try:
        return rust_core(doc, seed=seed)
    except ValueError as e:
        raise ConfigError(f"profile {profile.scheduler_name!r}: {e}") from None


@dataclass(frozen=True)
class ErrorOutcome:
    """An attempt that failed before the core could judge the pod (it did not decode)."""

    pod: str
    message: str
    node: str | None = None
    status: str = "error"
    feasible_nodes: int = 0
    evaluated_nodes: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)


class Scheduler:
    """The scheduling service over ``client`` (module docstring)."""

    def __init__(
        self,
        client: Client,
        config: SchedulerConfig | None = None,
        *,
        seed: int = 0,
        batch_size: int = 500,
        clock: Clock | None = None,
        metrics: SchedulerMetrics | None = None,
        core_factory: CoreFactory = default_core_factory,
        informers: InformerFactory | None = None,
        bind_batch_size: int = 1000,
        max_binds_in_flight: int = 4,
    ) -> None:
        self.client = client
        self.config = config if config is not None else SchedulerConfig()
        self.batch_size = batch_size
        self.queue = SchedulingQueue(
            clock,
            initial_backoff=self.config.pod_initial_backoff_seconds,
            max_backoff=self.config.pod_max_backoff_seconds,
        )
        self.cores: dict[str, SchedulingCore] = {
            p.scheduler_name: core_factory(p, self.config, seed) for p in self.config.profiles
        }
        self.cache = CacheSync(self.queue, list(self.cores.values()), self.config.scheduler_names)
        self.metrics = metrics if metrics is not None else SchedulerMetrics()
        self.metrics.watch_queue(self.queue)
        self.events = EventRecorder(client)
        self.binder = Binder(
            client,
            self.queue,
            self.cache,
            self.metrics,
            self.events,
            batch_size=bind_batch_size,
            max_in_flight=max_binds_in_flight,
        )
        self.preemptor = Preemptor(client, self.events, self.metrics, lookup=self._lookup_pod)
        self._own_informers = informers is None
        self.informers = informers if informers is not None else InformerFactory(client)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.cycles = 0
        """Batches scheduled."""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self, sync_timeout: float | None = 60.0) -> None:
        """Start the informers, wait for their first lists, then run the loop."""
        self.cache.register(self.informers)
        self.informers.start()
        if not await self.informers.wait_for_sync(sync_timeout):
            raise TimeoutError("scheduler informers did not sync")
        self.events.start()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self.run(), name="scheduler")

    async def stop(self) -> None:
        """Stop scheduling, wait for bindings in flight, write pending events."""
        self._stopping = True
        self.queue.close()
        if self._task is not None:
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.binder.stop()
        await self.preemptor.stop()
        await self.events.stop()
        if self._own_informers:
            await self.informers.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def run(self) -> None:
        """Schedule batches until stopped."""
        while not self._stopping:
            pods = await self.queue.pop(self.batch_size, timeout=1.0)
            if not pods:
                if self.cache.pending_ops:  # keep the cache current while idle
                    await asyncio.to_thread(self.cache.apply, self.cache.take())
                continue
            try:
                await self.schedule(pods)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduling a batch of %d pods failed", len(pods))
                for qp in pods:
                    self.queue.add_backoff(qp)

    # -- one batch ---------------------------------------------------------------------------------

    async def schedule(self, pods: Sequence[QueuedPod]) -> None:
        """One scheduling cycle for ``pods`` (popped from the queue), then hand the placed ones
        to the binder."""
        ops = self.cache.take()
        started = time.perf_counter()
        results = await asyncio.to_thread(self._schedule_blocking, ops, pods)
        per_pod = (time.perf_counter() - started) / max(len(pods), 1)
        self.cycles += 1
        assumed: list[Assumed] = []
        for qp, pod, profile, out in results:
            if out.status == "scheduled" and out.node:
                self.cache.assumed(qp.key, out.node, pod)
                assumed.append(Assumed(qp, out.node, profile, per_pod))
                continue
            error = out.status != "unschedulable"
            message = out.message or ("error" if error else "unschedulable")
            self.metrics.attempt("error" if error else "unschedulable", profile, per_pod)
            decision = preemption(out) if not error else None
            if decision is not None and decision.nominated_node:
                self.cache.nominated(qp.key)
            if not error and preemption_attempted(out):
                self.metrics.preemption_attempts.inc()
            self.events.failed_scheduling(
                qp.pod,
                message,
                error=error,
                component=profile,
                nominated_node=decision.nominated_node if decision is not None else None,
            )
            if decision is not None and decision.preempted:
                await self.preemptor.submit(qp.pod, decision)
            if error:
                self.queue.add_backoff(qp)
            else:
                self.queue.add_unschedulable(qp, dict(out.reasons))
        await self.binder.submit(assumed)

    def _lookup_pod(self, key: str) -> Obj | None:
        """The pod as the informer last saw it."""
        informer = self.cache.pods_informer
        return informer.indexer.get_by_key(key) if informer is not None else None

    def _schedule_blocking(
        self, ops: Sequence[Op], pods: Sequence[QueuedPod]
    ) -> list[tuple[QueuedPod, Obj, str, Outcome]]:
        """On the worker thread: cache operations, then the core. Each result carries the pod
        object the core was given (``qp.pod`` may be replaced by an update meanwhile)."""
        self.cache.apply(ops)
        groups: dict[str, list[tuple[QueuedPod, Obj]]] = {}
        for qp in pods:
            pod = qp.pod
            name = (pod.get("spec") or {}).get("schedulerName") or DEFAULT_SCHEDULER_NAME
            groups.setdefault(name, []).append((qp, pod))
        out: list[tuple[QueuedPod, Obj, str, Outcome]] = []
        for name, group in groups.items():
            core = self.cores.get(name)
            if core is None:  # not ours any more (its schedulerName changed meanwhile)
                out.extend(
                    (qp, pod, name, ErrorOutcome(qp.key, f"no profile {name!r}"))
                    for qp, pod in group
                )
                continue
            outcomes = self._run_core(core, group)
            out.extend((qp, pod, name, o) for (qp, pod), o in zip(group, outcomes, strict=True))
            if len(self.cores) > 1:
                self._share_assumed(name, [pod for _, pod in group], outcomes)
        return out

    def _run_core(
        self, core: SchedulingCore, group: Sequence[tuple[QueuedPod, Obj]]
    ) -> list[Outcome]:
        data = [codec.encode(pod) for _, pod in group]
        try:
            return list(core.schedule_batch(data))
        except ValueError:
            pass  # a pod that does not decode fails the whole call: try them one by one
        outcomes: list[Outcome] = []
        for (qp, _), d in zip(group, data, strict=True):
            try:
                outcomes.extend(core.schedule_batch([d]))
            except ValueError as e:
                outcomes.append(ErrorOutcome(qp.key, str(e)))
        return outcomes

    def _share_assumed(
        self, profile: str, pods: Sequence[Obj], outcomes: Sequence[Outcome]
    ) -> None:
        """Pods one profile placed are assumed in the other profiles' caches too."""
        for pod, o in zip(pods, outcomes, strict=True):
            if o.status != "scheduled" or not o.node:
                continue
            placed = dict(pod)
            placed["spec"] = {**(pod.get("spec") or {}), "nodeName": o.node}
            data = codec.encode(placed)
            for name, core in self.cores.items():
                if name != profile:
                    core.add_pod(data)
