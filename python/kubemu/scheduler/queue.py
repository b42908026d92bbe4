"""The scheduling queue (kube-scheduler's ``PriorityQueue``, pkg/scheduler/backend/queue).

Every pending pod the scheduler is responsible for is in exactly one place:

* **gated**: it has ``spec.schedulingGates``; it waits there until an update removes them
  (the SchedulingGates PreEnqueue plugin);
* **activeQ**: a heap ordered as PrioritySort orders it, ``spec.priority`` descending, then the
  time it was queued;
* **backoffQ**: it failed recently; it moves to activeQ when its backoff ends. The backoff is
  ``podInitialBackoffSeconds * 2**(attempts-1)`` capped at ``podMaxBackoffSeconds`` (1, 2, 4,
  8, 10, 10 s by default), counted from the failure;
* **unschedulablePods**: no node fitted. A cluster event that may make it fit
  (:meth:`SchedulingQueue.move_all_to_active_or_backoff`: the service calls it on node add,
  a node update that changes what scheduling looks at, and the deletion of an assigned pod)
  moves every such pod to backoffQ if it is still backing off, else to activeQ; so does
  staying there ``max_in_unschedulable`` seconds (5 min). An update of the pod itself (not
  only its status) moves it too;
* **in flight**: popped and being scheduled or bound. If a move event happens meanwhile, a
  pod that then fails goes to backoffQ rather than unschedulablePods (upstream's
  ``moveRequestCycle``), so the event is not lost.

Bound pods stay known (state ``bound``) until the informer reports them assigned or deleted,
so a late event for the still-unassigned object does not queue them again.

Time comes from a :class:`~kubemu.client.workqueue.Clock`; tests pass a
:class:`~kubemu.client.workqueue.FakeClock` and move time with ``advance``. Timers are armed
for the earliest backoff end and unschedulable timeout only. Use from one event loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from kubemu.client.workqueue import Clock, RealClock, TimerHandle

__all__ = [
    "DEFAULT_MAX_IN_UNSCHEDULABLE",
    "QueuedPod",
    "SchedulingQueue",
    "State",
    "pod_key",
]

Obj = dict[str, Any]
State = Literal["active", "backoff", "unschedulable", "gated", "in_flight", "bound"]

DEFAULT_MAX_IN_UNSCHEDULABLE: Final = 300.0
"""``DefaultPodMaxInUnschedulablePodsDuration``: 5 minutes."""

PENDING_STATES: Final = ("active", "backoff", "unschedulable", "gated")


def pod_key(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _priority(pod: Obj) -> int:
    p = (pod.get("spec") or {}).get("priority")
    return p if isinstance(p, int) else 0


def _gated(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("schedulingGates"))


_IGNORED_META: Final = ("resourceVersion", "generation", "managedFields")


def _pod_updated(old: Obj, new: Obj) -> bool:
    """upstream ``isPodUpdated``: anything but status, resourceVersion, generation and
    managedFields changed."""
    if old.get("spec") != new.get("spec"):
        return True
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    keys = (set(om) | set(nm)).difference(_IGNORED_META)
    return any(om.get(k) != nm.get(k) for k in keys)


@dataclass(eq=False)
class QueuedPod:
    """A pod in the queue (upstream ``QueuedPodInfo``)."""

    key: str
    pod: Obj
    timestamp: float
    """When it was last queued (PrioritySort's tie-break; a failure's time for backoff)."""
    added: float
    """When the queue first saw it."""
    priority: int = 0
    attempts: int = 0
    initial_attempt: float | None = None
    """When it was first popped (the SLI's start)."""
    backoff_until: float = 0.0
    cycle: int = 0
    """The scheduling cycle it was last popped in."""
    state: State = "active"
    gen: int = 0
    unschedulable_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.key.partition("/")[0]

    @property
    def name(self) -> str:
        return self.key.partition("/")[2]


class SchedulingQueue:
    """activeQ, backoffQ, unschedulablePods and gated pods (module docstring)."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        max_in_unschedulable: float = DEFAULT_MAX_IN_UNSCHEDULABLE,
    ) -> None:
        self.clock: Clock = clock if clock is not None else RealClock()
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self._pods: dict[str, QueuedPod] = {}
        self._active: list[tuple[int, float, int, int, QueuedPod]] = []
        self._backoff: list[tuple[float, int, int, QueuedPod]] = []
        self._unschedulable: dict[str, float] = {}
        self._counts: Counter[str] = Counter()
        self._seq = itertools.count()
        self._gen = itertools.count(1)
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._backoff_timer: tuple[float, TimerHandle] | None = None
        self._unsched_timer: tuple[float, TimerHandle] | None = None
        self._wakeup: asyncio.Event | None = None
        self._closed = False

    # -- state ------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Pending pods (active, backoff, unschedulable, gated)."""
        return sum(self._counts[s] for s in PENDING_STATES)

    def __contains__(self, key: object) -> bool:
        return key in self._pods

    def get(self, key: str) -> QueuedPod | None:
        return self._pods.get(key)

    def count(self, state: State) -> int:
        """Pods in ``state`` (``scheduler_pending_pods{queue}`` for the pending ones)."""
        return self._counts[state]

    def keys(self, state: State) -> list[str]:
        """Keys in ``state``; activeQ in pop order."""
        if state == "active":
            return [e[4].key for e in sorted(self._active) if self._valid_active(e)]
        return [k for k, p in self._pods.items() if p.state == state]

    def backoff_duration(self, attempts: int) -> float:
        """upstream ``calculateBackoffDuration``: initial doubling per attempt, capped."""
        duration = self.initial_backoff
        for _ in range(1, attempts):
            duration *= 2
            if duration > self.max_backoff:
                return self.max_backoff
        return min(duration, self.max_backoff)

    def _set_state(self, qp: QueuedPod, state: State) -> None:
        self._counts[qp.state] -= 1
        qp.state = state
        self._counts[state] += 1

    # -- informer events ----------------------------------------------------------------------

    def add(self, pod: Obj) -> None:
        """A new pending pod (or one seen again: then as :meth:`update`)."""
        key = pod_key(pod)
        old = self._pods.get(key)
        if old is not None:
            self.update(old.pod, pod)
            return
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            return
        now = self.clock.now()
        qp = QueuedPod(key, pod, now, now, _priority(pod))
        qp.state = "gated"
        self._counts["gated"] += 1
        self._pods[key] = qp
        if not _gated(pod):
            self._to_active(qp)

    def update(self, old: Obj, new: Obj) -> None:
        """A pending pod changed."""
        key = pod_key(new)
        qp = self._pods.get(key)
        if qp is None:
            self.add(new)
            return
        qp.pod = new
        if (new.get("metadata") or {}).get("deletionTimestamp"):
            self.delete(key)
            return
        state = qp.state
        if state in ("in_flight", "bound", "backoff"):
            qp.priority = _priority(new)
            return
        if state == "gated":
            if not _gated(new):
                qp.timestamp = self.clock.now()
                self._to_active(qp)
            return
        if state == "active":
            if _priority(new) != qp.priority:
                qp.priority = _priority(new)
                self._to_active(qp)  # re-pushed in its new place
            return
        # unschedulable
        qp.priority = _priority(new)
        if _pod_updated(old, new):
            del self._unschedulable[key]
            self._requeue_moved(qp)

    def delete(self, key: str) -> None:
        """The pod is gone, or assigned (no longer pending)."""
        qp = self._pods.pop(key, None)
        if qp is None:
            return
        self._unschedulable.pop(key, None)
        self._counts[qp.state] -= 1
        qp.state = "bound"  # any heap entry for it is stale now
        qp.gen = -1

    # -- popping ------------------------------------------------------------------------------

    def _valid_active(self, e: tuple[int, float, int, int, QueuedPod]) -> bool:
        qp = e[4]
        return qp.state == "active" and qp.gen == e[3]

    def pop_now(self, max_pods: int) -> list[QueuedPod]:
        """Up to ``max_pods`` pods from activeQ (highest priority first), now in flight. Each
        pop starts a scheduling cycle."""
        out: list[QueuedPod] = []
        heap = self._active
        now = self.clock.now()
        while heap and len(out) < max_pods:
            e = heapq.heappop(heap)
            if not self._valid_active(e):
                continue
            qp = e[4]
            self._set_state(qp, "in_flight")
            self.scheduling_cycle += 1
            qp.cycle = self.scheduling_cycle
            qp.attempts += 1
            if qp.initial_attempt is None:
                qp.initial_attempt = now
            out.append(qp)
        if not self._counts["active"] and self._wakeup is not None:
            self._wakeup.clear()
        return out

    async def pop(self, max_pods: int, timeout: float | None = None) -> list[QueuedPod]:
        """:meth:`pop_now`, waiting while activeQ is empty ([] on timeout or once closed)."""
        while not self._counts["active"] and not self._closed:
            try:
                await asyncio.wait_for(self._event().wait(), timeout)
            except TimeoutError:
                return []
        if self._closed:
            return []
        return self.pop_now(max_pods)

    def _event(self) -> asyncio.Event:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
            if self._counts["active"]:
                self._wakeup.set()
        return self._wakeup

    def close(self) -> None:
        """Wake every waiter; :meth:`pop` returns [] from now on. Timers are cancelled."""
        self._closed = True
        for timer in (self._backoff_timer, self._unsched_timer):
            if timer is not None:
                timer[1].cancel()
        self._backoff_timer = self._unsched_timer = None
        self._event().set()

    # -- after an attempt ----------------------------------------------------------------------

    def _current(self, qp: QueuedPod) -> bool:
        return self._pods.get(qp.key) is qp and qp.state == "in_flight"

    def add_unschedulable(self, qp: QueuedPod, reasons: dict[str, int] | None = None) -> None:
        """No node fitted ``qp`` (popped in cycle ``qp.cycle``): to unschedulablePods, or to
        backoffQ if a move event happened since it was popped. Ignored if the pod was deleted
        or assigned meanwhile."""
        if not self._current(qp):
            return
        now = self.clock.now()
        qp.timestamp = now
        qp.backoff_until = now + self.backoff_duration(qp.attempts)
        if reasons is not None:
            qp.unschedulable_reasons = reasons
        if self.move_request_cycle >= qp.cycle:
            self._to_backoff(qp)
            return
        self._set_state(qp, "unschedulable")
        self._unschedulable[qp.key] = now
        self._arm_unschedulable(now + self.max_in_unschedulable)

    def add_backoff(self, qp: QueuedPod) -> None:
        """The attempt failed with an error (or its binding failed): to backoffQ."""
        if not self._current(qp):
            return
        now = self.clock.now()
        qp.timestamp = now
        qp.backoff_until = now + self.backoff_duration(qp.attempts)
        self._to_backoff(qp)

    def done(self, qp: QueuedPod) -> None:
        """``qp`` is bound: it leaves the queue when the informer reports it assigned."""
        if self._current(qp):
            self._set_state(qp, "bound")

    # -- cluster events --------------------------------------------------------------------------

    def move_all_to_active_or_backoff(self, event: str = "") -> int:
        """A cluster event that may make unschedulable pods fit: move them all (to backoffQ
        while backing off, else to activeQ). Returns how many moved."""
        self.move_request_cycle = self.scheduling_cycle
        keys = list(self._unschedulable)
        self._unschedulable.clear()
        for key in keys:
            self._requeue_moved(self._pods[key])
        return len(keys)

    def _requeue_moved(self, qp: QueuedPod) -> None:
        if qp.backoff_until > self.clock.now():
            self._to_backoff(qp)
        else:
            self._to_active(qp)

    def flush_unschedulable_leftover(self) -> int:
        """Move pods that have been unschedulable for ``max_in_unschedulable`` seconds."""
        now = self.clock.now()
        moved: list[str] = []
        for key, since in self._unschedulable.items():
            if now - since < self.max_in_unschedulable:
                break
            moved.append(key)
        for key in moved:
            del self._unschedulable[key]
            self._requeue_moved(self._pods[key])
        if self._unschedulable:
            first = next(iter(self._unschedulable.values()))
            self._arm_unschedulable(first + self.max_in_unschedulable)
        return len(moved)

    def flush_backoff_completed(self) -> int:
        """Move pods whose backoff has ended to activeQ."""
        now = self.clock.now()
        heap = self._backoff
        moved = 0
        while heap and heap[0][0] <= now:
            _, _, gen, qp = heapq.heappop(heap)
            if qp.state == "backoff" and qp.gen == gen:
                self._to_active(qp)
                moved += 1
        while heap and not (heap[0][3].state == "backoff" and heap[0][3].gen == heap[0][2]):
            heapq.heappop(heap)
        if heap:
            self._arm_backoff(heap[0][0])
        return moved

    # -- internals -----------------------------------------------------------------------------

    def _to_active(self, qp: QueuedPod) -> None:
        self._set_state(qp, "active")
        qp.gen = next(self._gen)
        heapq.heappush(self._active, (-qp.priority, qp.timestamp, next(self._seq), qp.gen, qp))
        if self._wakeup is not None:
            self._wakeup.set()

    def _to_backoff(self, qp: QueuedPod) -> None:
        self._set_state(qp, "backoff")
        qp.gen = next(self._gen)
        heapq.heappush(self._backoff, (qp.backoff_until, next(self._seq), qp.gen, qp))
        self._arm_backoff(qp.backoff_until)

    def _arm_backoff(self, when: float) -> None:
        if self._closed:
            return
        timer = self._backoff_timer
        if timer is not None:
            if timer[0] <= when:
                return
            timer[1].cancel()
        self._backoff_timer = (when, self.clock.call_later(when - self.clock.now(), self._fire_b))

    def _fire_b(self) -> None:
        self._backoff_timer = None
        self.flush_backoff_completed()

    def _arm_unschedulable(self, when: float) -> None:
        if self._closed:
            return
        timer = self._unsched_timer
        if timer is not None:
            if timer[0] <= when:
                return
            timer[1].cancel()
        self._unsched_timer = (when, self.clock.call_later(when - self.clock.now(), self._fire_u))

    def _fire_u(self) -> None:
        self._unsched_timer = None
        self.flush_unschedulable_leftover()
