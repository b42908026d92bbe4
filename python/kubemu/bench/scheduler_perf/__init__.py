"""``kubemu bench scheduler-perf``: scheduler_perf's workload files run against kubemu's
apiserver and scheduling service in this process (issue 5, "Load tests").

Modules: :mod:`~.config` (the workload file format), :mod:`~.templates` (node/pod templates and
stamping), :mod:`~.runner` (ops, throughput sampling, latency histograms), :mod:`~.report`
(scheduler_perf's JSON, threshold check, summary table, plot), :mod:`~.cli` (the command).
Shipped configs are in ``configs/`` (:func:`~.templates.shipped_config`).
"""

from kubemu.bench.scheduler_perf.cli import main
from kubemu.bench.scheduler_perf.config import ConfigError, TestCase, Workload, load_config
from kubemu.bench.scheduler_perf.runner import RunOptions, WorkloadResult, run_workload

__all__ = [
    "ConfigError",
    "RunOptions",
    "TestCase",
    "Workload",
    "WorkloadResult",
    "load_config",
    "main",
    "run_workload",
]
