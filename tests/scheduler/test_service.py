"""The scheduling service end to end: InProcessClient over an in-memory apiserver, the Rust core
(kubemu._core.Scheduler)."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import BatchResult
from kubemu.client.workqueue import FakeClock
from kubemu.objects.errors import StatusError
from kubemu.scheduler import Scheduler, parse_config
from kubemu.scheduler.service import default_core_factory

from .conftest import StandInCore, eventually, make_node, make_pod

Obj = dict[str, Any]


async def pods_of(client: InProcessClient, ns: str = "default") -> list[Obj]:
    return (await client.list("pods", ns)).items


def sample(s: Scheduler, name: str, **labels: str) -> float:
    value = s.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_200_pods_on_20_nodes_are_bound_and_spread(client: InProcessClient) -> None:
    for i in range(20):
        await client.create("nodes", "", make_node(f"node-{i}"))
    async with Scheduler(client, batch_size=64) as s:
        result = await client.create_many(
            "pods", "default", [make_pod(f"p-{i}") for i in range(200)]
        )
        assert result.ok

        async def all_bound() -> bool:
            return all(p["spec"].get("nodeName") for p in await pods_of(client))

        await eventually(all_bound)
        pods = await pods_of(client)
        per_node = collections.Counter(p["spec"]["nodeName"] for p in pods)
        # LeastAllocated + BalancedAllocation over identical nodes: an even spread.
        assert sorted(per_node) == sorted(f"node-{i}" for i in range(20))
        assert set(per_node.values()) == {10}
        for p in pods:
            [cond] = [c for c in p["status"]["conditions"] if c["type"] == "PodScheduled"]
            assert cond["status"] == "True"
        await s.binder.wait_idle()
        labels = {"profile": "default-scheduler"}
        assert sample(s, "scheduler_schedule_attempts_total", result="scheduled", **labels) == 200
        assert sample(s, "scheduler_schedule_attempts_total", result="unschedulable", **labels) == 0
        assert (
            sample(
                s,
                "scheduler_scheduling_attempt_duration_seconds_count",
                result="scheduled",
                **labels,
            )
            == 200
        )
        assert sample(s, "scheduler_pod_scheduling_sli_duration_seconds_count", attempts="1") == 200
        assert sample(s, "scheduler_pending_pods", queue="active") == 0
        assert s.cycles >= 200 // 64

        async def informed() -> bool:  # the informer saw them all assigned
            return s.queue.count("bound") == 0

        await eventually(informed)


async def test_unschedulable_pod_gets_an_event_and_condition_then_fits_a_new_node(
    client: InProcessClient,
) -> None:
    for i in range(3):
        await client.create("nodes", "", make_node(f"node-{i}"))
    async with Scheduler(client) as s:
        await client.create("pods", "default", make_pod("big", cpu="6"))

        async def has_condition() -> bool:
            pod = await client.get("pods", "default", "big")
            return any(c["type"] == "PodScheduled" for c in pod["status"].get("conditions") or [])

        await eventually(has_condition)
        pod = await client.get("pods", "default", "big")
        [cond] = pod["status"]["conditions"]
        message = (
            "0/3 nodes are available: 3 Insufficient cpu. "
            "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."
        )
        assert cond == {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastTransitionTime": cond["lastTransitionTime"],
        }
        assert not pod["spec"].get("nodeName")
        events = (await client.list("events", "default")).items
        [ev] = events
        assert ev["reason"] == "FailedScheduling" and ev["type"] == "Warning"
        assert ev["message"] == message
        assert ev["involvedObject"]["name"] == "big"
        assert ev["involvedObject"]["uid"] == pod["metadata"]["uid"]
        assert ev["source"] == {"component": "default-scheduler"}
        assert s.queue.count("unschedulable") == 1
        assert sample(s, "scheduler_pending_pods", queue="unschedulable") == 1
        assert (
            sample(
                s,
                "scheduler_schedule_attempts_total",
                result="unschedulable",
                profile="default-scheduler",
            )
            == 1
        )

        await client.create("nodes", "", make_node("roomy", cpu="8"))

        async def bound() -> bool:
            pod = await client.get("pods", "default", "big")
            return pod["spec"].get("nodeName") == "roomy"

        await eventually(bound)  # after its 1 s backoff
        pod = await client.get("pods", "default", "big")
        [cond] = pod["status"]["conditions"]
        assert cond["status"] == "True"
        assert len((await client.list("events", "default")).items) == 1


async def test_pods_of_other_schedulers_are_ignored(client: InProcessClient) -> None:
    await client.create("nodes", "", make_node("n"))
    async with Scheduler(client) as s:
        await client.create("pods", "default", make_pod("theirs", schedulerName="other"))
        await client.create("pods", "default", make_pod("ours"))

        async def ours_bound() -> bool:
            return bool((await client.get("pods", "default", "ours"))["spec"].get("nodeName"))

        await eventually(ours_bound)
        theirs = await client.get("pods", "default", "theirs")
        assert not theirs["spec"].get("nodeName") and not theirs["status"].get("conditions")
        assert "default/theirs" not in s.queue
        assert (await client.list("events", "default")).items == []


async def test_profiles_from_the_configuration(client: InProcessClient) -> None:
    await client.create("nodes", "", make_node("n"))
    config = parse_config(
        {
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "KubeSchedulerConfiguration",
            "profiles": [
                {"schedulerName": "default-scheduler"},
                {
                    "schedulerName": "packer",
                    "pluginConfig": [
                        {
                            "name": "NodeResourcesFit",
                            "args": {"scoringStrategy": {"type": "MostAllocated"}},
                        }
                    ],
                },
            ],
        }
    )
    async with Scheduler(client, config) as s:
        await client.create("pods", "default", make_pod("a"))
        await client.create("pods", "default", make_pod("b", schedulerName="packer"))

        async def both_bound() -> bool:
            return all(p["spec"].get("nodeName") == "n" for p in await pods_of(client))

        await eventually(both_bound)
        assert set(s.cores) == {"default-scheduler", "packer"}


class FlakyBinds(InProcessClient):
    """bind_many fails the first time for chosen pods (Conflict)."""

    def __init__(self, inner: InProcessClient, fail: set[str]) -> None:
        super().__init__(inner.apiserver)
        self.fail = fail
        self.calls = 0

    async def bind_many(self, bindings: Sequence[tuple[str, str, str]]) -> BatchResult:
        self.calls += 1
        keep = [b for b in bindings if b[1] not in self.fail]
        done = await super().bind_many(keep)
        result = BatchResult()
        it = iter(zip(done.objects, done.errors, strict=True))
        for _ns, name, _node in bindings:
            if name in self.fail:
                self.fail.discard(name)
                result.objects.append(None)
                result.errors.append(StatusError.conflict("pods/binding", name))
            else:
                obj, err = next(it)
                result.objects.append(obj)
                result.errors.append(err)
        return result


async def test_a_failed_binding_is_forgotten_and_retried_after_backoff(
    client: InProcessClient,
) -> None:
    await client.create("nodes", "", make_node("n", cpu="1"))
    flaky = FlakyBinds(client, {"a"})
    clock = FakeClock()
    async with Scheduler(flaky, clock=clock) as s:
        await client.create("pods", "default", make_pod("a", cpu="600m"))

        async def in_backoff() -> bool:
            return s.queue.count("backoff") == 1

        await eventually(in_backoff)
        # The assumption was forgotten: "b" (600m) fits the 1-CPU node now.
        await client.create("pods", "default", make_pod("b", cpu="600m"))

        async def b_bound() -> bool:
            return (await client.get("pods", "default", "b"))["spec"].get("nodeName") == "n"

        await eventually(b_bound)
        assert (
            sample(
                s, "scheduler_schedule_attempts_total", result="error", profile="default-scheduler"
            )
            == 1
        )
        events = (await client.list("events", "default")).items
        assert [e["message"].split(":")[0] for e in events] == ["Binding rejected"]
        clock.advance(1)  # "a"'s backoff ends; now nothing fits it

        async def a_unschedulable() -> bool:
            return s.queue.count("unschedulable") == 1

        await eventually(a_unschedulable)
        pod = await client.get("pods", "default", "a")
        assert not pod["spec"].get("nodeName")


async def test_gated_pod_is_scheduled_once_its_gates_are_removed(client: InProcessClient) -> None:
    await client.create("nodes", "", make_node("n"))
    async with Scheduler(client) as s:
        await client.create(
            "pods", "default", make_pod("g", schedulingGates=[{"name": "example.com/hold"}])
        )

        async def gated() -> bool:
            return s.queue.count("gated") == 1

        await eventually(gated)
        assert sample(s, "scheduler_pending_pods", queue="gated") == 1
        pod = await client.get("pods", "default", "g")
        pod["spec"]["schedulingGates"] = []
        await client.update("pods", "default", pod)

        async def bound() -> bool:
            return bool((await client.get("pods", "default", "g"))["spec"].get("nodeName"))

        await eventually(bound)


async def test_the_service_runs_a_stand_in_core(client: InProcessClient) -> None:
    core = StandInCore()
    await client.create("nodes", "", make_node("no"))
    async with Scheduler(client, core_factory=lambda *_: core) as s:
        await client.create("pods", "default", make_pod("p"))

        async def parked() -> bool:
            return s.queue.count("unschedulable") == 1

        await eventually(parked)
        node = make_node("yes")
        node["metadata"]["labels"]["fits"] = "yes"
        await client.create("nodes", "", node)

        async def bound() -> bool:
            return (await client.get("pods", "default", "p"))["spec"].get("nodeName") == "yes"

        await eventually(bound)
        assert ("add_node", "yes") in core.calls

        async def confirmed() -> bool:  # the informer saw it bound, every operation applied
            return s.cache.is_assigned("default/p") and s.cache.pending_ops == 0

        await eventually(confirmed)
        # The core assumed it on "yes" when it chose the node; the binding's echo from the
        # informer is not added a second time.
        assert core.pods == {"default/p": "yes"}
        assert ("add_pod", "default/p") not in core.calls


def test_default_core_factory_names_the_profile_of_a_bad_config() -> None:
    config = parse_config(
        {
            "profiles": [
                {"schedulerName": "x", "plugins": {"score": {"enabled": [{"name": "Nope"}]}}}
            ]
        }
    )
    try:
        default_core_factory(config.profiles[0], config, 0)
    except ValueError as e:
        assert "'x'" in str(e)
    else:
        raise AssertionError("accepted an unknown plugin")
