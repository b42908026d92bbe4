"""FailedScheduling events and the PodScheduled=False condition."""

from __future__ import annotations

from kubemu.client.inprocess import InProcessClient
from kubemu.scheduler.events import EventRecorder

from .conftest import make_pod

MESSAGE = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {a: b}."


async def test_event_shape(client: InProcessClient) -> None:
    await client.create(
        "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}
    )
    pod = await client.create("pods", "ns", make_pod("p", "ns"))
    rec = EventRecorder(client, instance="i", clock=lambda: 1.5)
    rec.failed_scheduling(pod, MESSAGE)
    await rec.flush()
    [ev] = (await client.list("events", "ns")).items
    assert ev["metadata"]["name"] == f"p.{int(1.5e9):x}"
    assert ev["involvedObject"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": "ns",
        "name": "p",
        "uid": pod["metadata"]["uid"],
        "resourceVersion": pod["metadata"]["resourceVersion"],
    }
    assert (ev["reason"], ev["type"], ev["message"]) == ("FailedScheduling", "Warning", MESSAGE)
    assert ev["source"] == {"component": "default-scheduler"} and ev["count"] == 1
    assert (ev["reportingComponent"], ev["reportingInstance"]) == ("default-scheduler", "i")


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
    rec.failed_scheduling(pod, MESSAGE)  # same message: the event counted, no status write
    await rec.flush()
    assert (rec.events_written, rec.conditions_written) == (2, 1)
    [ev] = (await client.list("events", "default")).items
    assert ev["count"] == 2
    assert (await client.get("pods", "default", "p"))["metadata"]["resourceVersion"] == rv
    stale = dict(pod)
    stale["metadata"] = {**pod["metadata"], "resourceVersion": "1"}
    rec.failed_scheduling(stale, "other", error=True)  # a stale copy: refetched on Conflict
    await rec.flush()
    [cond] = (await client.get("pods", "default", "p"))["status"]["conditions"]
    assert (cond["reason"], cond["message"]) == ("SchedulerError", "other")
    events = (await client.list("events", "default")).items
    assert sorted((e["message"], e["count"]) for e in events) == [(MESSAGE, 2), ("other", 1)]


async def test_background_writer(client: InProcessClient) -> None:
    pod = await client.create("pods", "default", make_pod("p"))
    rec = EventRecorder(client, component="my-scheduler")
    rec.start()
    rec.failed_scheduling(pod, MESSAGE)
    await rec.stop()
    [ev] = (await client.list("events", "default")).items
    assert ev["source"] == {"component": "my-scheduler"}
