"""Informer events → buffered core operations and queue moves."""

from __future__ import annotations

from kubemu.client.informer import InformerFactory
from kubemu.client.inprocess import InProcessClient
from kubemu.client.workqueue import FakeClock
from kubemu.scheduler.cache_sync import CacheSync
from kubemu.scheduler.queue import SchedulingQueue

from .conftest import StandInCore, eventually, make_node, make_pod


def setup() -> tuple[CacheSync, SchedulingQueue, StandInCore]:
    q = SchedulingQueue(FakeClock())
    core = StandInCore()
    return CacheSync(q, [core], frozenset({"default-scheduler"})), q, core


def park(q: SchedulingQueue, name: str) -> None:
    q.add(make_pod(name))
    [qp] = q.pop_now(1)
    q.add_unschedulable(qp)


def test_nodes_feed_the_core_and_move_unschedulable_pods() -> None:
    sync, q, core = setup()
    park(q, "p")
    node = make_node("n")
    sync.on_node_add(node)
    assert q.count("unschedulable") == 0  # NodeAdd moved it
    park(q, "p2")
    beat = make_node("n")
    beat["status"]["conditions"] = [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:10Z"}
    ]
    sync.on_node_update(node, beat)
    beat2 = make_node("n")
    beat2["status"]["conditions"] = [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:20Z"}
    ]
    sync.on_node_update(node, beat)  # a condition appeared: moves
    assert q.count("unschedulable") == 0
    park(q, "p3")
    sync.on_node_update(beat, beat2)  # a heartbeat: nothing scheduling looks at changed
    assert q.count("unschedulable") == 1
    tainted = make_node("n")
    tainted["spec"] = {"taints": [{"key": "k", "effect": "NoSchedule"}]}
    sync.on_node_update(beat2, tainted)
    assert q.count("unschedulable") == 0
    assert core.calls == []  # buffered
    sync.on_node_delete(tainted)
    sync.flush()
    # Coalesced: the node's last operation only.
    assert core.calls == [("remove_node", "n")]


def test_pods_split_between_cache_and_queue() -> None:
    sync, q, core = setup()
    assert sync.responsible_for(make_pod("a"))
    assert not sync.responsible_for(make_pod("a", schedulerName="other"))
    assert not sync.responsible_for(make_pod("a", nodeName="n"))
    sync.on_pending_pod_add(make_pod("a"))
    assert q.keys("active") == ["default/a"]
    bound = make_pod("b", nodeName="n")
    sync.on_assigned_pod_add(bound)
    sync.flush()
    assert core.calls == [("add_pod", "default/b")] and sync.is_assigned("default/b")
    park(q, "c")
    sync.on_assigned_pod_delete(bound)  # frees room: unschedulable pods move
    assert q.count("unschedulable") == 0
    sync.flush()
    assert core.calls[-1] == ("remove_pod", "default/b")


def test_terminated_pods_leave_the_cache() -> None:
    sync, _q, core = setup()
    running = make_pod("j", nodeName="n")
    sync.on_assigned_pod_add(running)
    done = make_pod("j", nodeName="n")
    done["status"] = {"phase": "Succeeded"}
    sync.on_assigned_pod_update(running, done)
    sync.flush()
    assert core.calls == [("remove_pod", "default/j")]


def test_forget_keeps_a_placement_the_informer_has_seen() -> None:
    sync, _q, core = setup()
    sync.forget("default", "x")
    sync.on_assigned_pod_add(make_pod("y", nodeName="n"))
    sync.forget("default", "y")
    sync.flush()
    assert core.calls == [("forget", "default/x"), ("add_pod", "default/y")]


async def test_informers_drive_it(client: InProcessClient) -> None:
    sync, q, core = setup()
    await client.create("nodes", "", make_node("n"))
    await client.create("pods", "default", make_pod("pending"))
    await client.create("pods", "default", make_pod("other", schedulerName="else"))
    await client.create("pods", "default", make_pod("placed", nodeName="n"))
    async with InformerFactory(client) as factory:
        sync.register(factory)
        factory.start()
        assert await factory.wait_for_sync(10)
        assert q.keys("active") == ["default/pending"]
        sync.flush()
        assert ("add_node", "n") in core.calls and ("add_pod", "default/placed") in core.calls
        await client.bind("default", "pending", "n")

        async def moved() -> bool:
            return "default/pending" not in q

        await eventually(moved)
        sync.flush()
        assert ("add_pod", "default/pending") in core.calls
        await client.delete("pods", "default", "placed")
        await client.delete("nodes", "", "n")

        async def gone() -> bool:
            sync.flush()
            return ("remove_node", "n") in core.calls

        await eventually(gone)
