"""Informer events → buffered core operations and queue moves."""

from __future__ import annotations

import copy
from typing import Any

import msgpack
from kubemu.client.informer import InformerFactory
from kubemu.client.inprocess import InProcessClient
from kubemu.client.workqueue import FakeClock
from kubemu.scheduler.cache_sync import CacheSync
from kubemu.scheduler.queue import QueuedPod, SchedulingQueue

from .conftest import StandInCore, eventually, make_node, make_pod

Obj = dict[str, Any]


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


class NominatingCore(StandInCore):
    """A stand-in core that also records nominator calls."""

    def set_nominated_pod(self, pod: bytes, had_nomination: bool) -> None:
        p = msgpack.unpackb(pod)
        self.calls.append(
            ("set_nominated_pod", f"{p['metadata']['namespace']}/{p['metadata']['name']}")
        )

    def remove_nominated_pod(self, namespace: str, name: str) -> None:
        self.calls.append(("remove_nominated_pod", f"{namespace}/{name}"))


def placed(q: SchedulingQueue, sync: CacheSync, name: str, node: str = "n") -> QueuedPod:
    """``name`` added, popped and placed on ``node`` by the cores (as the service records it)."""
    sync.on_pending_pod_add(make_pod(name))
    [qp] = q.pop_now(1)
    sync.assumed(qp.key, node, qp.pod)
    return qp


def bound(qp: QueuedPod, node: str = "n") -> Obj:
    """The object the informer reports once ``qp`` is bound to ``node``."""
    pod = copy.deepcopy(qp.pod)
    pod["spec"]["nodeName"] = node
    pod.setdefault("status", {})["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    return pod


def report_assigned(sync: CacheSync, old: Obj, new: Obj) -> None:
    """What the informer's two registrations do when a pending pod is reported bound."""
    sync.on_assigned_pod_add(new)
    sync.on_pending_pod_delete(new)


def test_an_assumed_pod_reported_bound_to_its_node_is_not_added_again() -> None:
    sync, q, core = setup()
    qp = placed(q, sync, "a")
    q.done(qp)
    report_assigned(sync, qp.pod, bound(qp))
    sync.flush()
    assert core.calls == [] and sync.is_assigned("default/a") and "default/a" not in q
    # Later changes of the assigned pod reach the cores as before.
    old = bound(qp)
    new = bound(qp)
    new["metadata"]["labels"] = {"app": "x"}
    sync.on_assigned_pod_update(old, new)
    sync.on_assigned_pod_delete(new)
    sync.on_assigned_pod_add(new)
    sync.flush()
    assert core.calls == [("add_pod", "default/a")]


def test_an_assumed_pod_is_added_again_if_it_changed_or_moved() -> None:
    sync, q, core = setup()
    # Updated while in flight: the informer's object is not the one the cores were given.
    qp = placed(q, sync, "a")
    updated = copy.deepcopy(qp.pod)
    updated["metadata"]["labels"] = {"app": "new"}
    sync.on_pending_pod_update(qp.pod, updated)
    report_assigned(sync, updated, bound(qp))
    # Bound elsewhere (by someone else) than the cores assumed.
    qp2 = placed(q, sync, "b", node="n1")
    report_assigned(sync, qp2.pod, bound(qp2, node="n2"))
    # The binding failed (forgotten), then the pod is bound anyway on that node.
    qp3 = placed(q, sync, "c")
    sync.forget("default", "c")
    report_assigned(sync, qp3.pod, bound(qp3))
    sync.flush()
    assert core.calls == [
        ("add_pod", "default/a"),
        ("add_pod", "default/b"),
        ("add_pod", "default/c"),  # the forget was superseded by the add
    ]
    assert core.pods == {"default/a": "n", "default/b": "n2", "default/c": "n"}


def test_a_pod_deleted_while_assumed_is_removed() -> None:
    sync, q, core = setup()
    qp = placed(q, sync, "a")
    sync.on_pending_pod_delete(qp.pod)
    sync.flush()
    assert core.calls == [("remove_pod", "default/a")]
    # A pod of the same name created and bound later is added (no stale assumption).
    fresh = make_pod("a", nodeName="n")
    sync.on_assigned_pod_add(fresh)
    sync.flush()
    assert core.calls[-1] == ("add_pod", "default/a")


def test_nominations_are_dropped_only_where_the_cores_may_hold_one() -> None:
    q = SchedulingQueue(FakeClock())
    core = NominatingCore()
    sync = CacheSync(q, [core], frozenset({"default-scheduler"}))
    # Never nominated: bound and deleted without nominator calls.
    plain = make_pod("plain")
    sync.on_pending_pod_add(plain)
    sync.on_pending_pod_delete(plain)
    # Seen with a nomination: set, then dropped when bound.
    nominated = make_pod("seen")
    nominated["status"] = {"nominatedNodeName": "n"}
    sync.on_pending_pod_add(nominated)
    sync.flush()
    assert core.calls == [("remove_pod", "default/plain"), ("set_nominated_pod", "default/seen")]
    core.calls.clear()
    report_assigned(sync, nominated, {**nominated, "spec": {**nominated["spec"], "nodeName": "n"}})
    sync.flush()
    assert core.calls == [("remove_nominated_pod", "default/seen"), ("add_pod", "default/seen")]
    # Nominated by a core (preemption) while pending: dropped when deleted.
    core.calls.clear()
    pre = make_pod("preemptor")
    sync.on_pending_pod_add(pre)
    sync.nominated("default/preemptor")
    sync.flush()
    assert core.calls == []
    sync.on_pending_pod_delete(pre)
    sync.flush()
    assert core.calls == [
        ("remove_nominated_pod", "default/preemptor"),
        ("remove_pod", "default/preemptor"),
    ]
    # Nominated by a core, but deleted before the batch's results came back: dropped at once.
    core.calls.clear()
    sync.nominated("default/gone")
    sync.flush()
    assert core.calls == [("remove_nominated_pod", "default/gone")]
