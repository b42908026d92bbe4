"""What a preemption does on the API (upstream ``prepareCandidate``), after the core chose a node
and its victims.

Per victim, unless it is already being deleted: the ``DisruptionTarget=True`` condition (reason
``PreemptionByScheduler``, message ``<schedulerName>: preempting to accommodate a higher priority
pod``) is added to its status, then it is deleted with default options (so its own
``terminationGracePeriodSeconds`` applies, as upstream's ``DeletePod``), and a ``Preempted``
Event (``Preempted by pod <uid> on node <node>``) is recorded on it. Then
``scheduler_preemption_victims`` observes the number of victims, and the lower-priority pods
nominated to that node lose their ``status.nominatedNodeName`` (they may no longer fit there).
The preemptor's own nomination is written with its ``PodScheduled=False`` condition (see
:mod:`kubemu.scheduler.events`).

A victim deleted with a grace period stays (``deletionTimestamp`` set) until something finishes
its deletion; until then it keeps its room in the cache and the preemptor, nominated to that
node, waits (DefaultPreemption's "terminating pod on the nominated node"), as with upstream when
no kubelet runs.

The API calls run in background tasks (at most ``max_in_flight`` preemptions at once), so
scheduling goes on meanwhile; the core has already counted the nomination.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from kubemu.client.interface import Client, DeleteOptions, PatchType
from kubemu.objects.errors import Reason, StatusError
from kubemu.objects.meta import now_rfc3339
from kubemu.scheduler.config import DEFAULT_SCHEDULER_NAME
from kubemu.scheduler.core import Preemption
from kubemu.scheduler.events import EventRecorder
from kubemu.scheduler.metrics import SchedulerMetrics

__all__ = ["DISRUPTION_TARGET", "PREEMPTION_BY_SCHEDULER", "Preemptor"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

DISRUPTION_TARGET: Final = "DisruptionTarget"
PREEMPTION_BY_SCHEDULER: Final = "PreemptionByScheduler"


def disruption_condition(scheduler_name: str, now: float) -> Obj:
    return {
        "type": DISRUPTION_TARGET,
        "status": "True",
        "reason": PREEMPTION_BY_SCHEDULER,
        "message": f"{scheduler_name}: preempting to accommodate a higher priority pod",
        "lastTransitionTime": now_rfc3339(now),
    }


class Preemptor:
    """Carries out preemption decisions through ``client``."""

    def __init__(
        self,
        client: Client,
        events: EventRecorder,
        metrics: SchedulerMetrics,
        *,
        lookup: Callable[[str], Obj | None] | None = None,
        clock: Callable[[], float] | None = None,
        max_in_flight: int = 64,
    ) -> None:
        self.client = client
        self.events = events
        self.metrics = metrics
        self.lookup = lookup
        """``namespace/name`` → the pod as the informer last saw it (None: ask the apiserver)."""
        self.clock = clock if clock is not None else events.clock
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self.victims_deleted = 0
        self.nominations_cleared = 0

    async def submit(self, preemptor: Obj, decision: Preemption) -> None:
        """Carry out ``decision`` in the background (waits only while ``max_in_flight``
        preemptions are running)."""
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(
            self._released(self.execute(preemptor, decision))
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _released(self, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:
            log.exception("preemption failed")
        finally:
            self._slots.release()

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        await self.wait_idle()

    async def execute(self, preemptor: Obj, decision: Preemption) -> None:
        """Now: delete the victims, then clear the lower nominations."""
        node = decision.nominated_node or ""
        meta = preemptor.get("metadata") or {}
        uid = meta.get("uid", "")
        sched = (preemptor.get("spec") or {}).get("schedulerName") or DEFAULT_SCHEDULER_NAME
        results = await asyncio.gather(
            *(self._evict(v, uid, sched, node) for v in decision.victims),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        for e in errors:
            log.warning("preempting a victim of %s failed: %s", meta.get("name", ""), e)
        if not errors:
            self.metrics.preemption_victims.observe(len(decision.victims))
        for ns, name in decision.cleared_nominations:
            await self._clear_nomination(ns, name)

    async def _current(self, namespace: str, name: str) -> Obj | None:
        if self.lookup is not None:
            obj = self.lookup(f"{namespace}/{name}")
            if obj is not None:
                return obj
        try:
            return await self.client.get("pods", namespace, name)
        except StatusError as e:
            if e.reason == Reason.NOT_FOUND:
                return None
            raise

    async def _evict(
        self, victim: tuple[str, str, str], preemptor_uid: str, scheduler: str, node: str
    ) -> None:
        ns, name, uid = victim
        pod = await self._current(ns, name)
        if pod is None:
            return
        meta = pod.get("metadata") or {}
        if uid and meta.get("uid") and meta.get("uid") != uid:
            return  # replaced by another pod of the same name
        if meta.get("deletionTimestamp"):
            return  # already being deleted: no second call (upstream skips it too)
        conditions = [
            c
            for c in (pod.get("status") or {}).get("conditions") or []
            if isinstance(c, dict) and c.get("type") != DISRUPTION_TARGET
        ]
        conditions.append(disruption_condition(scheduler, self.clock()))
        try:
            await self.client.patch(
                "pods",
                ns,
                name,
                {"status": {"conditions": conditions}},
                PatchType.MERGE,
                subresource="status",
            )
            await self.client.delete("pods", ns, name, DeleteOptions())
        except StatusError as e:
            if e.reason == Reason.NOT_FOUND:
                return
            raise
        self.victims_deleted += 1
        self.events.preempted(pod, preemptor_uid, node)

    async def _clear_nomination(self, namespace: str, name: str) -> None:
        try:
            await self.client.patch(
                "pods",
                namespace,
                name,
                {"status": {"nominatedNodeName": None}},
                PatchType.MERGE,
                subresource="status",
            )
            self.nominations_cleared += 1
        except StatusError as e:
            if e.reason != Reason.NOT_FOUND:
                log.warning("clearing the nomination of %s/%s failed: %s", namespace, name, e)
