"""Preemption end to end through the in-process apiserver: the scheduling service with the Rust
core preempts the right low-priority pods (PDBs respected), deletes them with the
DisruptionTarget condition and a Preempted event, nominates the preemptor, counts the metrics;
preemptionPolicy Never does not preempt; victims that stay terminating keep the preemptor
waiting on its nominated node until their deletion finishes."""

from __future__ import annotations

from typing import Any

from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import DeleteOptions
from kubemu.objects.errors import StatusError
from kubemu.scheduler import Scheduler

from .conftest import eventually, make_node, make_pod

Obj = dict[str, Any]


async def priority_classes(client: InProcessClient) -> None:
    for name, value, policy in (
        ("low", 1, None),
        ("high", 1000, None),
        ("high-never", 1000, "Never"),
    ):
        pc: Obj = {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
        }
        if policy:
            pc["preemptionPolicy"] = policy
        await client.create("priorityclasses", "", pc)


def low_pod(name: str, node: str, app: str, grace: int | None = 0) -> Obj:
    pod = make_pod(name, cpu="2", priorityClassName="low", nodeName=node)
    pod["metadata"]["labels"] = {"app": app}
    if grace is not None:
        pod["spec"]["terminationGracePeriodSeconds"] = grace
    return pod


def sample(s: Scheduler, name: str) -> float:
    value = s.metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


async def exists(client: InProcessClient, name: str) -> bool:
    try:
        await client.get("pods", "default", name)
    except StatusError as e:
        if e.code == 404:
            return False
        raise
    return True


async def test_high_priority_pod_preempts_the_right_victims(client: InProcessClient) -> None:
    await priority_classes(client)
    for i in range(2):
        await client.create("nodes", "", make_node(f"node-{i}"))
    # node-0's pods are protected by a PDB allowing no disruption; node-1's are not.
    await client.create(
        "poddisruptionbudgets",
        "default",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "guard-a", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "maxUnavailable": 0},
        },
    )
    for name, node, app in (("a1", "node-0", "a"), ("a2", "node-0", "a")):
        await client.create("pods", "default", low_pod(name, node, app))
    for name, node, app in (("b1", "node-1", "b"), ("b2", "node-1", "b")):
        await client.create("pods", "default", low_pod(name, node, app))
    async with Scheduler(client) as s:
        high = await client.create(
            "pods", "default", make_pod("high", cpu="2", priorityClassName="high")
        )

        async def bound() -> bool:
            pod = await client.get("pods", "default", "high")
            return pod["spec"].get("nodeName") == "node-1"

        await eventually(bound)
        # One victim is enough on node-1: b1 (first in the node's pod order) is reprieved.
        assert await exists(client, "b1") and not await exists(client, "b2")
        assert all([await exists(client, n) for n in ("a1", "a2")])
        await s.events.flush()
        events = (await client.list("events", "default")).items
        preempted = [e for e in events if e["reason"] == "Preempted"]
        assert [(e["involvedObject"]["name"], e["type"], e["message"]) for e in preempted] == [
            ("b2", "Normal", f"Preempted by pod {high['metadata']['uid']} on node node-1")
        ]
        failed = [e for e in events if e["reason"] == "FailedScheduling"]
        assert failed and failed[0]["message"] == "0/2 nodes are available: 2 Insufficient cpu."
        assert sample(s, "scheduler_preemption_attempts_total") == 1
        assert sample(s, "scheduler_preemption_victims_count") == 1
        assert sample(s, "scheduler_preemption_victims_sum") == 1
        assert s.preemptor.victims_deleted == 1


async def test_preemption_policy_never_does_not_preempt(client: InProcessClient) -> None:
    await priority_classes(client)
    await client.create("nodes", "", make_node("node-0"))
    for name in ("l1", "l2"):
        await client.create("pods", "default", low_pod(name, "node-0", "l"))
    async with Scheduler(client) as s:
        await client.create(
            "pods", "default", make_pod("polite", cpu="2", priorityClassName="high-never")
        )

        async def failed() -> bool:
            pod = await client.get("pods", "default", "polite")
            return any(c["type"] == "PodScheduled" for c in pod["status"].get("conditions") or [])

        await eventually(failed)
        pod = await client.get("pods", "default", "polite")
        [cond] = pod["status"]["conditions"]
        assert cond["message"] == (
            "0/1 nodes are available: 1 Insufficient cpu. "
            "preemption: not eligible due to preemptionPolicy=Never.."
        )
        assert "nominatedNodeName" not in pod["status"]
        assert await exists(client, "l1") and await exists(client, "l2")
        assert sample(s, "scheduler_preemption_attempts_total") == 1
        assert sample(s, "scheduler_preemption_victims_count") == 0


async def test_terminating_victims_keep_the_preemptor_waiting(client: InProcessClient) -> None:
    await priority_classes(client)
    await client.create("nodes", "", make_node("node-0"))
    # Default grace period (30 s) and no kubelet: the victims stay terminating.
    for name in ("v1", "v2"):
        await client.create("pods", "default", low_pod(name, "node-0", "v", grace=None))
    async with Scheduler(client) as s:
        await client.create("pods", "default", make_pod("high", cpu="3", priorityClassName="high"))

        async def nominated() -> bool:
            pod = await client.get("pods", "default", "high")
            return pod["status"].get("nominatedNodeName") == "node-0"

        await eventually(nominated)

        async def terminating() -> bool:
            pods = [await client.get("pods", "default", n) for n in ("v1", "v2")]
            return all(p["metadata"].get("deletionTimestamp") for p in pods)

        await eventually(terminating)
        victim = await client.get("pods", "default", "v2")
        [cond] = [c for c in victim["status"]["conditions"] if c["type"] == "DisruptionTarget"]
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "True",
            "PreemptionByScheduler",
            "default-scheduler: preempting to accommodate a higher priority pod",
        )
        # A further attempt (moved by a node event) waits: the victims still hold the node.
        await client.create("nodes", "", make_node("tiny", cpu="1"))
        await eventually(lambda: _attempted_again(s))
        pod = await client.get("pods", "default", "high")
        assert not pod["spec"].get("nodeName")
        assert (
            "not eligible due to a terminating pod on the nominated node"
            in (pod["status"]["conditions"][0]["message"])
        )
        assert s.preemptor.victims_deleted == 2
        # Finishing the deletions (as a kubelet would) lets it in.
        for n in ("v1", "v2"):
            await client.delete("pods", "default", n, DeleteOptions(grace_period_seconds=0))

        async def bound() -> bool:
            pod = await client.get("pods", "default", "high")
            return pod["spec"].get("nodeName") == "node-0"

        await eventually(bound, timeout=15)


async def _attempted_again(s: Scheduler) -> bool:
    await s.events.flush()
    return sample(s, "scheduler_preemption_attempts_total") >= 2
