"""FailedScheduling events and the PodScheduled=False condition."""

from __future__ import annotations

from kubemu.client.inprocess import InProcessClient
from kubemu.scheduler.events import EventRecorder, failed_scheduling_event

from .conftest import make_pod

MESSAGE = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {a: b}."


def test_event_shape() -> None:
    pod = make_pod("p", "ns")
    pod["metadata"].update(uid="u-1", resourceVersion="7")
    ev = failed_scheduling_event(pod, MESSAGE, component="default-scheduler", instance="i", now=1.5)
    assert ev["metadata"] == {"name": f"p.{int(1.5e9):x}", "namespace": "ns"}
    assert ev["involvedObject"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": "ns",
        "name": "p",
        "uid": "u-1",
        "resourceVersion": "7",
    }
    assert (ev["reason"], ev["type"], ev["message"]) == ("FailedScheduling", "Warning", MESSAGE)
    assert ev["source"] == {"component": "default-scheduler"} and ev["count"] == 1


async def test_condition_is_written_once_per_change(client: InProcessClient) -> None:
    pod = await client.create("pods", "default", make_pod("p"))
    rec = EventRecorder(client)
    rec.failed_scheduling(pod, MESSAGE)
    await rec.flush()
    assert (rec.events_written, rec.conditions_written) == (1, 1)
    pod = await client.get("pods", "default", "p")
    [cond] = pod["status"]["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
        MESSAGE,
    )
    rv = pod["metadata"]["resourceVersion"]
    rec.failed_scheduling(pod, MESSAGE)  # same message: an event, no status write
    await rec.flush()
    assert (rec.events_written, rec.conditions_written) == (2, 1)
    assert (await client.get("pods", "default", "p"))["metadata"]["resourceVersion"] == rv
    stale = dict(pod)
    stale["metadata"] = {**pod["metadata"], "resourceVersion": "1"}
    rec.failed_scheduling(stale, "other", error=True)  # a stale copy: refetched on Conflict
    await rec.flush()
    [cond] = (await client.get("pods", "default", "p"))["status"]["conditions"]
    assert (cond["reason"], cond["message"]) == ("SchedulerError", "other")
    assert len((await client.list("events", "default")).items) == 3


async def test_background_writer(client: InProcessClient) -> None:
    pod = await client.create("pods", "default", make_pod("p"))
    rec = EventRecorder(client, component="my-scheduler")
    rec.start()
    rec.failed_scheduling(pod, MESSAGE)
    await rec.stop()
    [ev] = (await client.list("events", "default")).items
    assert ev["source"] == {"component": "my-scheduler"}
