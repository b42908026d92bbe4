"""Runs one workload as scheduler_perf does: its own apiserver (in this process, over an
in-memory store) and the scheduling service (:class:`kubemu.scheduler.Scheduler`, Rust core),
no kubelets; nodes and pods are API objects only. The apiserver's admission plugins are
upstream scheduler_perf's (no ServiceAccount, no Priority: templates set ``spec.priority``).

Preemption victims are deleted by the scheduler with default options, so their own
``terminationGracePeriodSeconds`` applies. As in upstream's integration setup, nothing finishes
a graceful deletion (no kubelet, no pod GC): the shipped low-priority template sets it to 0, as
upstream's does, and victims disappear at once. A template with a grace period leaves victims
terminating and their preemptors nominated but waiting, until the stall timeout ends the run.

Ops run in order. ``createPods`` waits (unless ``skipWaitToCompletion``) until every pod the
workload created in that namespace is bound, as observed through the apiserver: one watch per
namespace with ``fieldSelector spec.nodeName!=`` counts pods entering (ADDED) and leaving
(DELETED) the bound set, without decoding them. A run that makes no progress for
``stall_timeout`` seconds stops with an error in its result.

For a ``collectMetrics`` op: SchedulingThroughput is sampled every ``sample_interval`` (1 s)
from that count, as upstream's throughputCollector does (a sample with no new pod is skipped and
its time folded into the next one), except that the clock starts when the op starts creating
pods rather than at the first bound pod, and the last, partial interval is kept: kubemu binds
thousands of pods a second, so upstream's "skip the first sample" would drop a large part of a
short run. A partial interval shorter than half a sample interval is folded into the sample
before it (as an empty sample is folded into the next one), so that a few pods bound in the
last milliseconds do not make a sample of their own, weighing as much in the Average as a whole
second (:func:`finish_samples`). Attempt latencies are the change in the scheduler's histograms
(``scheduler_scheduling_attempt_duration_seconds``,
``scheduler_pod_scheduling_sli_duration_seconds``) over the op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.apiserver.admission import AdmissionChain
from kubemu.apiserver.admission.default_tolerations import DefaultTolerationSeconds
from kubemu.apiserver.admission.namespace_lifecycle import NamespaceLifecycle
from kubemu.bench.scheduler_perf.config import (
    Barrier,
    Churn,
    CreateNamespaces,
    CreateNodes,
    CreatePods,
    DeletePods,
    Op,
    Sleep,
    TestCase,
    Workload,
)
from kubemu.bench.scheduler_perf.templates import (
    NodeLabels,
    Template,
    default_node_template,
    default_pod_template,
    load_template,
)
from kubemu.client.inprocess import InProcessClient, InProcessWatch
from kubemu.client.interface import DeleteOptions, ListOptions
from kubemu.objects.errors import StatusError
from kubemu.scheduler import Scheduler, SchedulerConfig, load_config
from kubemu.store import Store

__all__ = [
    "HISTOGRAMS",
    "Histogram",
    "Measurement",
    "RunOptions",
    "WorkloadResult",
    "finish_samples",
    "run_workload",
]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

HISTOGRAMS: Final = (
    "scheduler_scheduling_attempt_duration_seconds",
    "scheduler_pod_scheduling_sli_duration_seconds",
)
"""The scheduler histograms reported per collectMetrics op (upstream's defaults that exist)."""

BOUND_SELECTOR: Final = "spec.nodeName!="


@dataclass
class RunOptions:
    seed: int = 0
    batch_size: int = 500
    """Pods per scheduling batch (the service's ``batch_size``)."""
    create_batch: int = 1000
    """Objects per ``create_many``."""
    sample_interval: float = 1.0
    stall_timeout: float = 120.0
    """Seconds without a newly bound pod before a wait gives up."""


@dataclass
class Histogram:
    """A histogram's change over an op: cumulative bucket counts by upper bound."""

    buckets: list[tuple[float, float]]
    count: float
    sum: float


@dataclass
class Measurement:
    """What one collectMetrics op measured."""

    op: int
    pods: int
    throughputs: list[float] = field(default_factory=list)
    """pods/s, one per sample."""
    samples: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the op started, pods of the op bound so far), every sample tick."""
    seconds: float = 0.0
    """From the op's first create to its last pod observed bound."""
    histograms: dict[tuple[str, tuple[tuple[str, str], ...]], Histogram] = field(
        default_factory=dict
    )
    last: tuple[float, int] | None = field(default=None, repr=False)
    """The sampler's last recorded (perf_counter time, bound count)."""
    prev: tuple[float, int] | None = field(default=None, repr=False)
    """Where the last recorded sample started (perf_counter time, bound count)."""

    @property
    def overall(self) -> float:
        """Pods per second over the whole op."""
        return self.pods / self.seconds if self.seconds > 0 else 0.0


@dataclass
class WorkloadResult:
    case: str
    workload: str
    threshold: float | None
    measurements: list[Measurement] = field(default_factory=list)
    nodes: int = 0
    pods: int = 0
    seconds: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.case}/{self.workload}"


# ------------------------------------------------------------------------ bound counting


class BoundCounter:
    """Pods of one namespace bound to a node, as the apiserver reports them."""

    def __init__(self, client: InProcessClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.bound = 0
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        opts = ListOptions(field_selector=BOUND_SELECTOR)
        listed = await self.client.list("pods", self.namespace, opts)
        self.bound = len(listed.items)
        watch = await self.client.watch(
            "pods",
            self.namespace,
            ListOptions(field_selector=BOUND_SELECTOR, resource_version=listed.resource_version),
        )
        self._task = asyncio.get_running_loop().create_task(self._run(watch))

    async def _run(self, watch: InProcessWatch) -> None:
        try:
            while True:
                async for batch in watch.raw_batches():
                    n = self.bound
                    for etype, _rv, _data in batch:
                        if etype == "ADDED":
                            n += 1
                        elif etype == "DELETED":
                            n -= 1
                        elif etype == "ERROR":  # fell behind: count afresh
                            raise _Restart
                    if n != self.bound:
                        self.bound = n
                        self.changed.set()
                return
        except _Restart:
            await watch.close()
            await self.start()
        finally:
            await watch.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class _Restart(Exception):
    pass


class Stalled(RuntimeError):
    pass


# -------------------------------------------------------------------------------- runner


class _Run:
    def __init__(
        self,
        case: TestCase,
        workload: Workload,
        client: InProcessClient,
        scheduler: Scheduler,
        opts: RunOptions,
        result: WorkloadResult,
    ) -> None:
        self.case = case
        self.workload = workload
        self.client = client
        self.scheduler = scheduler
        self.opts = opts
        self.result = result
        self.counters: dict[str, BoundCounter] = {}
        self.expected: dict[str, int] = {}
        """Pods createPods put in each namespace (less those deleted)."""
        self.templates: dict[Path | None, Template] = {}
        self.node_template: Template | None = None
        self.churns: list[asyncio.Task[None]] = []

    # -- helpers -------------------------------------------------------------------------

    def template(self, path: Path | None, *, pod: bool) -> Template:
        key = path if path is not None else (self.case.default_pod_template if pod else None)
        tpl = self.templates.get(key)
        if tpl is None:
            if key is not None:
                obj = load_template(key)
            else:
                obj = default_pod_template() if pod else default_node_template()
            tpl = Template(obj)
            self.templates[key] = tpl
        return tpl

    async def ensure_namespace(self, name: str) -> BoundCounter:
        counter = self.counters.get(name)
        if counter is not None:
            return counter
        try:
            await self.client.create(
                "namespaces",
                "",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )
        except StatusError as e:
            if e.code != 409:
                raise
        counter = BoundCounter(self.client, name)
        await counter.start()
        self.counters[name] = counter
        return counter

    async def create_all(self, resource: str, namespace: str, objs: Iterable[Obj]) -> int:
        batch: list[Obj] = []
        n = 0

        async def flush() -> None:
            result = await self.client.create_many(resource, namespace, batch)
            for err in result.errors:
                if err is not None:
                    raise RuntimeError(f"creating {resource}: {err.message}")
            batch.clear()
            await asyncio.sleep(0)  # let the scheduler and binder run between batches

        for obj in objs:
            batch.append(obj)
            n += 1
            if len(batch) >= self.opts.create_batch:
                await flush()
        if batch:
            await flush()
        return n

    def bound(self, namespaces: Iterable[str]) -> int:
        return sum(self.counters[ns].bound for ns in namespaces if ns in self.counters)

    async def wait_bound(self, want: Mapping[str, int]) -> None:
        """Until each namespace has at least ``want[ns]`` pods bound."""
        namespaces = [ns for ns, n in want.items() if n > 0]
        last, last_change = -1, time.monotonic()
        while True:
            done = all(self.counters[ns].bound >= want[ns] for ns in namespaces)
            if done:
                return
            now_bound = self.bound(namespaces)
            if now_bound != last:
                last, last_change = now_bound, time.monotonic()
            elif time.monotonic() - last_change > self.opts.stall_timeout:
                total = sum(want[ns] for ns in namespaces)
                raise Stalled(
                    f"{now_bound} of {total} pods bound in {', '.join(namespaces)}; "
                    f"none bound for {self.opts.stall_timeout:g} s"
                )
            for ns in namespaces:
                self.counters[ns].changed.clear()
            waits = [asyncio.ensure_future(self.counters[ns].changed.wait()) for ns in namespaces]
            try:
                await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    # -- ops -------------------------------------------------------------------------------

    async def execute(self, index: int, op: Op) -> None:
        if isinstance(op, CreateNodes):
            await self.create_nodes(op)
        elif isinstance(op, CreateNamespaces):
            for i in range(op.count):
                await self.ensure_namespace(f"{op.prefix}-{i}")
        elif isinstance(op, CreatePods):
            await self.create_pods(index, op)
        elif isinstance(op, Churn):
            ns = op.namespace or f"namespace-{index}"
            self.churns.append(asyncio.get_running_loop().create_task(self.churn(op, ns)))
        elif isinstance(op, Barrier):
            names = op.namespaces or tuple(self.expected)
            for ns in names:
                await self.ensure_namespace(ns)
            await self.wait_bound({ns: self.expected.get(ns, 0) for ns in names})
        elif isinstance(op, DeletePods):
            await self.delete_pods(op)
        elif isinstance(op, Sleep):
            await asyncio.sleep(op.seconds)

    async def create_nodes(self, op: CreateNodes) -> None:
        if self.node_template is None or op.template is not None:
            obj = load_template(op.template) if op.template else default_node_template()
            start = self.node_template.next if self.node_template is not None else 0
            self.node_template = Template(obj, start=start)
        tpl = self.node_template
        tpl.node_labels = None
        if op.label_key or op.unique_label_key:
            tpl.node_labels = NodeLabels(
                op.label_key, op.label_values, op.unique_label_key, seed=self.opts.seed
            )
        self.result.nodes += await self.create_all("nodes", "", tpl.stamp_many(op.count))

    async def create_pods(self, index: int, op: CreatePods) -> None:
        ns = op.namespace or f"namespace-{index}"
        counter = await self.ensure_namespace(ns)
        tpl = self.template(op.template, pod=True)
        measurement: Measurement | None = None
        sampler: asyncio.Task[None] | None = None
        before = counter.bound
        if op.collect_metrics:
            measurement = Measurement(op=index, pods=op.count)
            self.result.measurements.append(measurement)
            hist_before = histograms(self.scheduler)
            sampler = asyncio.get_running_loop().create_task(
                self.sample(measurement, counter, before)
            )
        started = time.perf_counter()
        self.expected[ns] = self.expected.get(ns, 0) + op.count
        try:
            await self.create_all("pods", ns, tpl.stamp_many(op.count, ns))
            self.result.pods += op.count
            if op.skip_wait:
                return
            await self.wait_bound({ns: self.expected[ns]})
        finally:
            if measurement is not None and sampler is not None:
                measurement.seconds = time.perf_counter() - started
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
                self.final_sample(measurement, counter, before, started)
                await self.scheduler.binder.wait_idle()
                measurement.histograms = diff(histograms(self.scheduler), hist_before)

    async def sample(self, m: Measurement, counter: BoundCounter, before: int) -> None:
        """Upstream's throughputCollector over ``counter`` (module docstring)."""
        interval = self.opts.sample_interval
        start = time.perf_counter()
        last_time, last_count = start, before
        tick = start
        while True:
            tick += interval
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))
            now = time.perf_counter()
            bound = counter.bound
            m.samples.append((now - start, bound - before))
            if bound == last_count:
                continue  # no new pod: fold this interval into the next sample
            m.throughputs.append((bound - last_count) / (now - last_time))
            m.prev = (last_time, last_count)
            last_time, last_count = now, bound
            m.last = (last_time, last_count)

    def final_sample(
        self, m: Measurement, counter: BoundCounter, before: int, started: float
    ) -> None:
        now = time.perf_counter()
        bound = counter.bound
        m.samples.append((now - started, bound - before))
        finish_samples(m, now, bound, (started, before), self.opts.sample_interval)

    async def churn(self, op: Churn, namespace: str) -> None:
        tpls = [Template(load_template(p)) for p in op.templates]
        if any(t.namespaced for t in tpls):
            await self.ensure_namespace(namespace)
        kept: list[deque[str]] = [deque() for _ in tpls]
        rounds = 0
        tick = time.perf_counter()
        while op.mode == "recreate" or op.number == 0 or rounds < op.number:
            tick += op.interval
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))
            for tpl, names in zip(tpls, kept, strict=True):
                ns = namespace if tpl.namespaced else ""
                resource = plural(tpl.kind)
                try:
                    if op.mode == "recreate" and len(names) >= op.number:
                        old = names.popleft()
                        await self.client.delete(
                            resource, ns, old, DeleteOptions(grace_period_seconds=0)
                        )
                    obj = tpl.stamp(ns)
                    await self.client.create(resource, ns, obj)
                    names.append(obj["metadata"]["name"])
                except StatusError as e:
                    log.debug("churn %s: %s", resource, e.message)
            rounds += 1

    async def delete_pods(self, op: DeletePods) -> None:
        opts = ListOptions(label_selector=op.label_selector)
        pods = (await self.client.list("pods", op.namespace, opts)).items
        now = DeleteOptions(grace_period_seconds=0)
        tick = time.perf_counter()
        for pod in pods:
            if op.per_second > 0:
                tick += 1.0 / op.per_second
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
            try:
                await self.client.delete("pods", op.namespace, pod["metadata"]["name"], now)
            except StatusError as e:
                if e.code != 404:
                    raise
            if op.namespace in self.expected:
                self.expected[op.namespace] = max(0, self.expected[op.namespace] - 1)

    async def stop(self) -> None:
        for t in self.churns:
            t.cancel()
        for t in self.churns:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for c in self.counters.values():
            await c.close()


def finish_samples(
    m: Measurement, now: float, bound: int, start: tuple[float, int], interval: float
) -> None:
    """The last, partial interval (from the last sample, or ``start``, to ``now`` with
    ``bound`` pods bound) into ``m.throughputs``: nothing if no pod was bound in it; folded into
    the sample before it if it is shorter than half ``interval`` and there is one; else a
    sample of its own."""
    last_time, last_count = m.last if m.last is not None else start
    if bound <= last_count or now <= last_time:
        return
    if m.prev is not None and m.throughputs and now - last_time < interval / 2:
        prev_time, prev_count = m.prev
        m.throughputs[-1] = (bound - prev_count) / (now - prev_time)
    else:
        m.throughputs.append((bound - last_count) / (now - last_time))


def plural(kind: str) -> str:
    """The resource of a kind (``Pod`` → ``pods``, ``PriorityClass`` → ``priorityclasses``)."""
    k = kind.lower()
    if k.endswith(("s", "x", "ch", "sh")):
        return k + "es"
    if k.endswith("y") and k[-2:-1] not in "aeiou":
        return k[:-1] + "ies"
    return k + "s"


# ---------------------------------------------------------------------------- histograms

HistKey = tuple[str, tuple[tuple[str, str], ...]]


def histograms(scheduler: Scheduler) -> dict[HistKey, Histogram]:
    """The scheduler's :data:`HISTOGRAMS` now, by (name, labels without ``le``)."""
    out: dict[HistKey, Histogram] = {}
    for family in scheduler.metrics.registry.collect():
        if family.name not in HISTOGRAMS:
            continue
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            h = out.setdefault((family.name, labels), Histogram([], 0.0, 0.0))
            if s.name.endswith("_bucket"):
                h.buckets.append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                h.count = s.value
            elif s.name.endswith("_sum"):
                h.sum = s.value
    for h in out.values():
        h.buckets.sort()
    return out


def diff(
    after: Mapping[HistKey, Histogram], before: Mapping[HistKey, Histogram]
) -> dict[HistKey, Histogram]:
    """``after - before``, keeping only histograms with new observations."""
    out: dict[HistKey, Histogram] = {}
    for key, a in after.items():
        b = before.get(key)
        if b is None:
            h = Histogram(list(a.buckets), a.count, a.sum)
        else:
            old = dict(b.buckets)
            h = Histogram(
                [(le, c - old.get(le, 0.0)) for le, c in a.buckets],
                a.count - b.count,
                a.sum - b.sum,
            )
        if h.count > 0:
            out[key] = h
    return out


# ------------------------------------------------------------------------------ one run


def scheduler_perf_admission() -> AdmissionChain:
    """The admission plugins of upstream's scheduler_perf apiserver: the defaults without
    ServiceAccount, TaintNodesByCondition and Priority (``--disable-admission-plugins``), so
    templates may set ``spec.priority`` directly, as upstream's do."""
    return AdmissionChain([NamespaceLifecycle(), DefaultTolerationSeconds()])


async def run_workload(
    case: TestCase, workload: Workload, opts: RunOptions | None = None
) -> WorkloadResult:
    """Run ``case`` with ``workload``'s params on a fresh apiserver and scheduler."""
    opts = opts if opts is not None else RunOptions()
    result = WorkloadResult(case.name, workload.name, workload.threshold)
    result.notes.extend(case.notes)
    ops = case.ops(workload)
    config = load_config(case.scheduler_config) if case.scheduler_config else SchedulerConfig()
    api = APIServer(
        EmbeddedStorage(Store(fsync=False)),
        admission=scheduler_perf_admission(),
        watch_queue_size=1_000_000,
        watch_buffer_size=100_000,
    )
    client = InProcessClient(api)
    scheduler = Scheduler(client, config, seed=opts.seed, batch_size=opts.batch_size)
    run = _Run(case, workload, client, scheduler, opts, result)
    started = time.perf_counter()
    try:
        await scheduler.start()
        for i, op in enumerate(ops):
            await run.execute(i, op)
    except (Stalled, RuntimeError, StatusError) as e:
        result.error = str(e) if not isinstance(e, StatusError) else e.message
    finally:
        result.seconds = time.perf_counter() - started
        await run.stop()
        await scheduler.stop()
        await api.close()
    return result
