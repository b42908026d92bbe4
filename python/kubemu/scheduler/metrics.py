"""The scheduler's Prometheus metrics, with kube-scheduler's names and buckets
(pkg/scheduler/metrics/metrics.go).

* ``scheduler_schedule_attempts_total{result, profile}``: ``scheduled`` (counted once the pod
  is bound, as upstream counts it after the binding cycle), ``unschedulable``, ``error``;
* ``scheduler_scheduling_attempt_duration_seconds{result, profile}``: one scheduling attempt
  (a batch's time shared evenly by its pods);
* ``scheduler_pod_scheduling_sli_duration_seconds{attempts}``: from a pod's first attempt to
  its successful binding;
* ``scheduler_pod_scheduling_attempts``: attempts a pod needed;
* ``scheduler_pending_pods{queue}``: ``active``, ``backoff``, ``unschedulable``, ``gated``,
  read from the queue when scraped;
* ``scheduler_preemption_attempts_total``: DefaultPreemption's PostFilter runs (one per
  unschedulable attempt with preemption enabled, whatever it decided);
* ``scheduler_preemption_victims``: victims per carried-out preemption (buckets 1, 2, 4, ... 64).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from kubemu.scheduler.queue import SchedulingQueue, State

__all__ = ["SchedulerMetrics", "exponential_buckets"]


def exponential_buckets(start: float, factor: float, count: int) -> list[float]:
    return [start * factor**i for i in range(count)]


def _count(queue: SchedulingQueue, state: State) -> float:
    return float(queue.count(state))


class SchedulerMetrics:
    """The metrics in ``registry`` (a fresh registry by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.schedule_attempts = Counter(
            "scheduler_schedule_attempts_total",
            "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod "
            "could not be scheduled, while 'error' means an internal scheduler problem.",
            ["result", "profile"],
            registry=r,
        )
        self.attempt_duration = Histogram(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            ["result", "profile"],
            buckets=exponential_buckets(0.001, 2, 15),
            registry=r,
        )
        self.sli_duration = Histogram(
            "scheduler_pod_scheduling_sli_duration_seconds",
            "E2e latency for a pod being scheduled, from the time the pod enters the "
            "scheduling queue and might involve multiple scheduling attempts.",
            ["attempts"],
            buckets=exponential_buckets(0.01, 2, 20),
            registry=r,
        )
        self.pod_attempts = Histogram(
            "scheduler_pod_scheduling_attempts",
            "Number of attempts to successfully schedule a pod.",
            buckets=exponential_buckets(1, 2, 5),
            registry=r,
        )
        self.pending_pods = Gauge(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type. 'active' means number of pods in "
            "activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number "
            "of pods in unschedulablePods that the scheduler attempted to schedule and failed; "
            "'gated' is the number of unschedulable pods that the scheduler never attempted to "
            "schedule because they are gated.",
            ["queue"],
            registry=r,
        )
        self.preemption_attempts = Counter(
            "scheduler_preemption_attempts_total",
            "Total preemption attempts in the cluster till now",
            registry=r,
        )
        self.preemption_victims = Histogram(
            "scheduler_preemption_victims",
            "Number of selected preemption victims",
            buckets=exponential_buckets(1, 2, 7),
            registry=r,
        )
        # Labelled children by label values: ``labels()`` resolves them anew on every call.
        self._attempt_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._sli_children: dict[int, Histogram] = {}

    def watch_queue(self, queue: SchedulingQueue) -> None:
        """``scheduler_pending_pods`` reads ``queue`` when scraped."""
        states: tuple[State, ...] = ("active", "backoff", "unschedulable", "gated")
        for state in states:
            self.pending_pods.labels(state).set_function(partial(_count, queue, state))

    def attempt(self, result: str, profile: str, seconds: float, n: int = 1) -> None:
        """``n`` attempts with ``result``, each taking ``seconds``."""
        if n <= 0:
            return
        children = self._attempt_children.get((result, profile))
        if children is None:
            children = (
                self.schedule_attempts.labels(result, profile),
                self.attempt_duration.labels(result, profile),
            )
            self._attempt_children[(result, profile)] = children
        counter, hist = children
        counter.inc(n)
        for _ in range(n):
            hist.observe(seconds)

    def scheduled(
        self, profile: str, attempt_seconds: float, sli_seconds: float, attempts: int
    ) -> None:
        """A pod bound after ``attempts`` attempts, ``sli_seconds`` after its first one."""
        self.attempt("scheduled", profile, attempt_seconds)
        bucket = min(attempts, 16)
        sli = self._sli_children.get(bucket)
        if sli is None:
            sli = self.sli_duration.labels(str(attempts) if attempts < 16 else "16+")
            self._sli_children[bucket] = sli
        sli.observe(sli_seconds)
        self.pod_attempts.observe(attempts)
