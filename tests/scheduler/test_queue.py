"""SchedulingQueue semantics with a fake clock: PrioritySort order, backoff 1 → 10 s,
unschedulable pods moved by cluster events or after 5 minutes, scheduling gates, updates and
deletes."""

from __future__ import annotations

import asyncio

import pytest
from kubemu.client.workqueue import FakeClock
from kubemu.scheduler.queue import SchedulingQueue

from .conftest import make_pod


def new_queue() -> tuple[SchedulingQueue, FakeClock]:
    clock = FakeClock(1000.0)
    return SchedulingQueue(clock), clock


def names(pods: list) -> list[str]:  # type: ignore[type-arg]
    return [p.name for p in pods]


def test_active_q_orders_by_priority_then_enqueue_time() -> None:
    q, clock = new_queue()
    q.add(make_pod("low-1", priority=0))
    clock.advance(1)
    q.add(make_pod("high", priority=100))
    clock.advance(1)
    q.add(make_pod("low-0", priority=0))
    q.add(make_pod("mid", priority=10))
    q.add(make_pod("none"))  # no priority: 0
    assert q.keys("active") == [
        "default/high",
        "default/mid",
        "default/low-1",
        "default/low-0",
        "default/none",
    ]
    assert names(q.pop_now(2)) == ["high", "mid"]
    assert names(q.pop_now(10)) == ["low-1", "low-0", "none"]
    assert q.pop_now(10) == []
    assert q.count("in_flight") == 5 and len(q) == 0


def test_priority_update_reorders_the_active_q() -> None:
    q, _clock = new_queue()
    q.add(make_pod("a", priority=1))
    q.add(make_pod("b", priority=2))
    old = q.get("default/a")
    assert old is not None
    q.update(old.pod, make_pod("a", priority=3))
    assert names(q.pop_now(2)) == ["a", "b"]


def test_backoff_doubles_from_1s_to_a_10s_cap() -> None:
    q, clock = new_queue()
    q.add(make_pod("p"))
    waits = []
    for _ in range(7):
        [qp] = q.pop_now(1)
        q.add_backoff(qp)
        assert q.count("backoff") == 1
        wait = qp.backoff_until - clock.now()
        waits.append(wait)
        clock.advance(wait - 0.01)
        assert q.pop_now(1) == [] and q.count("backoff") == 1
        clock.advance(0.01)
        assert q.count("active") == 1
    assert waits == [1, 2, 4, 8, 10, 10, 10]
    assert [q.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_backoff_follows_configured_seconds() -> None:
    q = SchedulingQueue(FakeClock(), initial_backoff=2, max_backoff=5)
    assert [q.backoff_duration(n) for n in range(1, 5)] == [2, 4, 5, 5]


def test_unschedulable_pods_move_on_a_cluster_event() -> None:
    q, clock = new_queue()
    q.add(make_pod("p"))
    [qp] = q.pop_now(1)
    q.add_unschedulable(qp, {"Insufficient cpu": 3})
    assert q.count("unschedulable") == 1 and qp.unschedulable_reasons == {"Insufficient cpu": 3}
    clock.advance(60)  # the backoff (1 s) is over, but nothing happened: it stays
    assert q.count("unschedulable") == 1 and q.pop_now(1) == []
    assert q.move_all_to_active_or_backoff("NodeAdd") == 1
    assert q.count("active") == 1
    assert names(q.pop_now(1)) == ["p"]


def test_an_event_during_backoff_moves_to_backoff_q_first() -> None:
    q, clock = new_queue()
    q.add(make_pod("p"))
    [qp] = q.pop_now(1)
    q.add_unschedulable(qp)
    clock.advance(0.5)
    q.move_all_to_active_or_backoff("NodeAdd")
    assert q.count("backoff") == 1 and q.count("active") == 0
    clock.advance(0.5)
    assert q.count("active") == 1


def test_unschedulable_pods_move_after_five_minutes() -> None:
    q, clock = new_queue()
    q.add(make_pod("a"))
    q.add(make_pod("b"))
    [a] = q.pop_now(1)
    q.add_unschedulable(a)
    clock.advance(100)
    [b] = q.pop_now(1)
    q.add_unschedulable(b)
    clock.advance(199.9)
    assert q.count("unschedulable") == 2
    clock.advance(0.1)  # a: 300 s
    assert q.keys("active") == ["default/a"] and q.count("unschedulable") == 1
    clock.advance(100)  # b: 300 s
    assert q.count("active") == 2 and q.count("unschedulable") == 0


def test_a_move_event_while_in_flight_sends_a_failed_pod_to_backoff() -> None:
    q, clock = new_queue()
    q.add(make_pod("p"))
    [qp] = q.pop_now(1)
    q.move_all_to_active_or_backoff("NodeAdd")  # while p is being scheduled
    q.add_unschedulable(qp)
    assert q.count("backoff") == 1 and q.count("unschedulable") == 0
    # The next attempt, with no event meanwhile, parks it.
    clock.advance(1)
    [qp] = q.pop_now(1)
    q.add_unschedulable(qp)
    assert q.count("unschedulable") == 1


def test_gated_pods_wait_until_their_gates_are_removed() -> None:
    q, _clock = new_queue()
    gated = make_pod("g", schedulingGates=[{"name": "example.com/wait"}])
    q.add(gated)
    q.add(make_pod("free"))
    assert q.count("gated") == 1 and q.keys("gated") == ["default/g"]
    q.move_all_to_active_or_backoff("NodeAdd")  # events do not release gated pods
    assert names(q.pop_now(10)) == ["free"]
    assert q.pop_now(10) == []
    still = make_pod("g", schedulingGates=[{"name": "example.com/wait"}])
    still["metadata"]["labels"] = {"x": "y"}
    q.update(gated, still)
    assert q.count("gated") == 1
    q.update(still, make_pod("g"))
    assert q.count("gated") == 0
    assert names(q.pop_now(10)) == ["g"]


def test_updates_of_an_unschedulable_pod() -> None:
    q, clock = new_queue()
    pod = make_pod("p")
    pod["metadata"]["resourceVersion"] = "5"
    q.add(pod)
    [qp] = q.pop_now(1)
    q.add_unschedulable(qp)
    # Only status and resourceVersion change (e.g. our PodScheduled=False): it stays.
    status_only = make_pod("p")
    status_only["metadata"]["resourceVersion"] = "6"
    status_only["status"] = {"conditions": [{"type": "PodScheduled", "status": "False"}]}
    q.update(pod, status_only)
    assert q.count("unschedulable") == 1
    assert qp.pod is status_only
    # A spec change may make it fit: it moves (to backoffQ while backing off).
    changed = make_pod("p", cpu="50m")
    q.update(status_only, changed)
    assert q.count("backoff") == 1
    clock.advance(1)
    assert q.count("active") == 1


def test_delete_and_done() -> None:
    q, _clock = new_queue()
    for n in ("a", "b", "c", "d"):
        q.add(make_pod(n))
    q.delete("default/a")  # from activeQ
    a_b, a_c = q.pop_now(2)
    assert names([a_b, a_c]) == ["b", "c"]
    q.delete("default/b")  # while in flight: its failure is not requeued
    q.add_unschedulable(a_b)
    assert "default/b" not in q and q.count("unschedulable") == 0
    q.done(a_c)  # bound: stays known until the informer says it is assigned
    assert q.count("bound") == 1
    q.update(a_c.pod, make_pod("c", cpu="1"))  # a late event for the unassigned pod
    assert q.pop_now(10)[0].name == "d"
    assert q.pop_now(10) == []
    q.delete("default/c")
    assert "default/c" not in q
    q.add(make_pod("x", priority=1))
    [x] = q.pop_now(1)
    q.add_unschedulable(x)
    q.delete("default/x")
    assert q.move_all_to_active_or_backoff() == 0 and len(q) == 0


def test_pods_being_deleted_are_not_queued() -> None:
    q, _ = new_queue()
    pod = make_pod("p")
    pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    q.add(pod)
    assert len(q) == 0


async def test_pop_waits_for_an_active_pod() -> None:
    q, _clock = new_queue()
    waiter = asyncio.ensure_future(q.pop(10))
    await asyncio.sleep(0)
    assert not waiter.done()
    q.add(make_pod("p"))
    assert names(await asyncio.wait_for(waiter, 5)) == ["p"]
    assert await q.pop(10, timeout=0.01) == []
    waiter = asyncio.ensure_future(q.pop(10))
    await asyncio.sleep(0)
    q.close()
    assert await asyncio.wait_for(waiter, 5) == []


@pytest.mark.parametrize("n", [1, 50])
def test_counts_match_the_states(n: int) -> None:
    q, _clock = new_queue()
    for i in range(n):
        q.add(make_pod(f"p{i}"))
    popped = q.pop_now(n)
    for i, qp in enumerate(popped):
        (q.add_unschedulable if i % 2 else q.add_backoff)(qp)
    total = sum(q.count(s) for s in ("active", "backoff", "unschedulable", "gated"))
    assert total == len(q) == n
