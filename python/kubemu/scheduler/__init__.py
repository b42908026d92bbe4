"""The scheduling service (issue 5): queue, informers, binding, events and metrics in Python;
the filter-and-score core in Rust (``kubemu._core.Scheduler``, adapted in
:mod:`kubemu.scheduler.core`).

Modules: :mod:`~kubemu.scheduler.config` (KubeSchedulerConfiguration),
:mod:`~kubemu.scheduler.queue` (activeQ/backoffQ/unschedulablePods/gated),
:mod:`~kubemu.scheduler.cache_sync` (informers → core caches and queue),
:mod:`~kubemu.scheduler.binder` (batched pods/binding), :mod:`~kubemu.scheduler.events`
(FailedScheduling and Preempted events, PodScheduled=False, nominatedNodeName),
:mod:`~kubemu.scheduler.preemption` (victims' DisruptionTarget condition and deletion, cleared
nominations), :mod:`~kubemu.scheduler.metrics`, :mod:`~kubemu.scheduler.service` (the loop).
"""

from kubemu.scheduler.config import ConfigError, SchedulerConfig, load_config, parse_config
from kubemu.scheduler.queue import SchedulingQueue
from kubemu.scheduler.service import Scheduler

__all__ = [
    "ConfigError",
    "Scheduler",
    "SchedulerConfig",
    "SchedulingQueue",
    "load_config",
    "parse_config",
]
