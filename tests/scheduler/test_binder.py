"""Batched binding: success, conflicts, pods gone."""

from __future__ import annotations

from kubemu.client.inprocess import InProcessClient
from kubemu.client.workqueue import FakeClock
from kubemu.scheduler.binder import Assumed, Binder
from kubemu.scheduler.cache_sync import CacheSync
from kubemu.scheduler.events import EventRecorder
from kubemu.scheduler.metrics import SchedulerMetrics
from kubemu.scheduler.queue import SchedulingQueue

from .conftest import StandInCore, make_node, make_pod


async def test_bind_many_settles_each_pod(client: InProcessClient) -> None:
    await client.create("nodes", "", make_node("n"))
    q = SchedulingQueue(FakeClock())
    core = StandInCore()
    sync = CacheSync(q, [core], frozenset({"default-scheduler"}))
    metrics = SchedulerMetrics()
    events = EventRecorder(client)
    binder = Binder(client, q, sync, metrics, events, batch_size=2)
    for name in ("ok", "taken", "gone", "ok2"):
        pod = await client.create("pods", "default", make_pod(name))
        q.add(pod)
    await client.bind("default", "taken", "elsewhere")  # someone else bound it
    await client.delete("pods", "default", "gone")
    popped = {qp.name: qp for qp in q.pop_now(10)}
    await binder.submit([Assumed(popped[n], "n", "default-scheduler") for n in popped])
    await binder.wait_idle()
    assert (binder.bound, binder.failed) == (2, 2)
    assert (await client.get("pods", "default", "ok"))["spec"]["nodeName"] == "n"
    assert (await client.get("pods", "default", "ok2"))["spec"]["nodeName"] == "n"
    assert popped["ok"].state == "bound"
    assert popped["taken"].state == "backoff"  # until the informer reports it assigned
    assert "default/gone" not in q
    sync.flush()
    assert sorted(c for c in core.calls if c[0] == "forget") == [
        ("forget", "default/gone"),
        ("forget", "default/taken"),
    ]
    reg = metrics.registry
    labels = {"profile": "default-scheduler"}
    assert (
        reg.get_sample_value("scheduler_schedule_attempts_total", {"result": "scheduled", **labels})
        == 2
    )
    assert (
        reg.get_sample_value("scheduler_schedule_attempts_total", {"result": "error", **labels})
        == 1
    )
    await events.flush()
    [ev] = (await client.list("events", "default")).items
    assert ev["involvedObject"]["name"] == "taken"
    assert ev["message"].startswith(
        'Binding rejected: Operation cannot be fulfilled on pods/binding "taken"'
    )
    taken = await client.get("pods", "default", "taken")
    [cond] = [c for c in taken["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond["status"] == "True"  # bound elsewhere: the condition is not overwritten


async def test_bind_many_returns_the_objects_as_stored(client: InProcessClient) -> None:
    """pods/binding in a batch: each result is the stored object (nodeName, PodScheduled=True
    with a transition time, its new resourceVersion); the pod the batch read is not reused
    for anything else (a pending PodScheduled=False condition turns True)."""
    pending = make_pod("a")
    pending["status"] = {
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    }
    await client.create_many("pods", "default", [pending, make_pod("b")])
    res = await client.bind_many([("default", "a", "n1"), ("default", "b", "n2")])
    assert res.errors == [None, None]
    for name, node, obj in zip("ab", ("n1", "n2"), res.objects, strict=True):
        stored = await client.get("pods", "default", name)
        assert obj == stored
        assert stored["spec"]["nodeName"] == node
        [cond] = [c for c in stored["status"]["conditions"] if c["type"] == "PodScheduled"]
        assert cond["status"] == "True" and "reason" not in cond
        assert cond["lastTransitionTime"]
