"""The binding cycle, batched: ``pods/binding`` for many pods in one ``Client.bind_many``.

Pods arrive here already *assumed*: the core put each on its node in its cache when it chose
the node, so the next pods see it there before the binding is written. Per pod:

* bound → the queue is done with it; ``scheduler_schedule_attempts_total{result=scheduled}``
  and the SLI duration are recorded (upstream counts a success after binding);
* the pod is gone (NotFound) → forgotten and dropped;
* any other failure (Conflict: bound by someone else, being deleted, gated; a whole batch
  failing) → forgotten in the cache (unless the informer has already seen the pod assigned,
  whose placement then stands), counted as ``error``, a FailedScheduling event
  ("Binding rejected: ...") and back to the queue's backoffQ. A pod bound elsewhere leaves the
  queue when the informer reports it assigned.

Batches are sent by background tasks (at most ``max_in_flight`` at once), so scheduling the
next batch overlaps with binding this one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kubemu.client.interface import Client
from kubemu.objects.errors import Reason, StatusError
from kubemu.scheduler.cache_sync import CacheSync
from kubemu.scheduler.events import EventRecorder
from kubemu.scheduler.metrics import SchedulerMetrics
from kubemu.scheduler.queue import QueuedPod, SchedulingQueue

__all__ = ["Assumed", "Binder"]

log = logging.getLogger(__name__)


@dataclass
class Assumed:
    """A pod the core placed on ``node`` (and assumed there)."""

    pod: QueuedPod
    node: str
    profile: str
    attempt_seconds: float = 0.0


class Binder:
    """Binds assumed pods through ``client.bind_many``."""

    def __init__(
        self,
        client: Client,
        queue: SchedulingQueue,
        cache: CacheSync,
        metrics: SchedulerMetrics,
        events: EventRecorder | None = None,
        *,
        batch_size: int = 1000,
        max_in_flight: int = 4,
    ) -> None:
        self.client = client
        self.queue = queue
        self.cache = cache
        self.metrics = metrics
        self.events = events
        self.batch_size = batch_size
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self.bound = 0
        self.failed = 0

    async def submit(self, assumed: Sequence[Assumed]) -> None:
        """Bind in the background; waits only while ``max_in_flight`` batches are running."""
        if not assumed:
            return
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._bind_released(list(assumed)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _bind_released(self, assumed: list[Assumed]) -> None:
        try:
            await self.bind(assumed)
        except Exception:
            log.exception("binding %d pods failed", len(assumed))
        finally:
            self._slots.release()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait for the batches submitted so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def bind(self, assumed: Sequence[Assumed]) -> None:
        """Bind now (in chunks of ``batch_size``) and settle every pod."""
        for start in range(0, len(assumed), self.batch_size):
            chunk = assumed[start : start + self.batch_size]
            triples = [(a.pod.namespace, a.pod.name, a.node) for a in chunk]
            errors: Sequence[StatusError | Exception | None]
            try:
                result = await self.client.bind_many(triples)
                errors = result.errors
            except StatusError as e:
                errors = [e] * len(chunk)
            except (OSError, RuntimeError) as e:
                errors = [e] * len(chunk)
            for a, err in zip(chunk, errors, strict=True):
                if err is None:
                    self._bound(a)
                else:
                    self._failed(a, err)

    def _bound(self, a: Assumed) -> None:
        qp = a.pod
        self.bound += 1
        now = self.queue.clock.now()
        start = qp.initial_attempt if qp.initial_attempt is not None else qp.added
        self.metrics.scheduled(a.profile, a.attempt_seconds, now - start, qp.attempts)
        self.queue.done(qp)

    def _failed(self, a: Assumed, err: Exception) -> None:
        qp = a.pod
        self.failed += 1
        self.cache.forget(qp.namespace, qp.name)
        if isinstance(err, StatusError) and err.reason == Reason.NOT_FOUND:
            self.queue.delete(qp.key)
            return
        log.debug("binding %s to %s failed: %s", qp.key, a.node, err)
        self.metrics.attempt("error", a.profile, a.attempt_seconds)
        message = err.message if isinstance(err, StatusError) else str(err)
        if self.events is not None and not self.cache.is_assigned(qp.key):
            self.events.failed_scheduling(
                qp.pod, f"Binding rejected: {message}", error=True, component=a.profile
            )
        self.queue.add_backoff(qp)

    async def stop(self) -> None:
        """Wait for the running batches."""
        await self.wait_idle()
