"""SchedulerMetrics: upstream's names and labels, counted per call."""

from __future__ import annotations

from kubemu.scheduler.metrics import SchedulerMetrics


def value(m: SchedulerMetrics, name: str, **labels: str) -> float:
    return m.registry.get_sample_value(name, labels) or 0.0


def test_attempts_and_sli_are_counted_by_their_labels() -> None:
    m = SchedulerMetrics()
    m.attempt("unschedulable", "p1", 0.002, n=3)
    m.attempt("unschedulable", "p1", 0.004)
    m.attempt("unschedulable", "p2", 0.004)
    for attempts in (1, 1, 15, 16, 40):
        m.scheduled("p1", 0.001, 0.5, attempts)
    m.attempt("error", "p1", 0.0, n=0)  # nothing
    total = "scheduler_schedule_attempts_total"
    duration = "scheduler_scheduling_attempt_duration_seconds"
    assert value(m, total, result="unschedulable", profile="p1") == 4
    assert value(m, total, result="unschedulable", profile="p2") == 1
    assert value(m, total, result="scheduled", profile="p1") == 5
    assert value(m, total, result="error", profile="p1") == 0
    assert value(m, duration + "_count", result="unschedulable", profile="p1") == 4
    assert value(m, duration + "_sum", result="unschedulable", profile="p1") == 0.01
    # le=0.002 counts the three 2 ms attempts, not the 4 ms one.
    assert value(m, duration + "_bucket", result="unschedulable", profile="p1", le="0.002") == 3
    sli = "scheduler_pod_scheduling_sli_duration_seconds_count"
    assert value(m, sli, attempts="1") == 2
    assert value(m, sli, attempts="15") == 1
    assert value(m, sli, attempts="16+") == 2
    assert value(m, sli, attempts="16") == 0
    assert value(m, "scheduler_pod_scheduling_attempts_count") == 5
