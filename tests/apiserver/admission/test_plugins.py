"""The admission plugins: ServiceAccount, DefaultTolerationSeconds, Priority, NamespaceLifecycle."""

from __future__ import annotations

import pytest
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.apiserver.admission import AdmissionChain
from kubemu.client.inprocess import InProcessClient
from kubemu.objects import StatusError
from kubemu.store import Store

from tests.apiserver.conftest import pod


async def test_default_service_account(client: InProcessClient) -> None:
    p = await client.create("pods", "default", pod())
    assert p["spec"]["serviceAccountName"] == "default"
    p = await client.create("pods", "default", pod("b", serviceAccountName="builder"))
    assert p["spec"]["serviceAccountName"] == "builder"


async def test_default_tolerations(client: InProcessClient) -> None:
    p = await client.create("pods", "default", pod())
    assert {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    } in p["spec"]["tolerations"]
    assert any(t["key"] == "node.kubernetes.io/unreachable" for t in p["spec"]["tolerations"])
    own = [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 10}]  # fmt: skip
    p = await client.create("pods", "default", pod("b", tolerations=own))
    keys = [t["key"] for t in p["spec"]["tolerations"]]
    assert keys == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert p["spec"]["tolerations"][0]["tolerationSeconds"] == 10
    everything = [{"operator": "Exists"}]
    p = await client.create("pods", "default", pod("c", tolerations=everything))
    assert p["spec"]["tolerations"] == everything


def _pc(
    name: str, value: int, default: bool = False, policy: str | None = None
) -> dict[str, object]:
    pc: dict[str, object] = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        "globalDefault": default,
    }
    if policy:
        pc["preemptionPolicy"] = policy
    return pc


async def test_priority_from_class_default_and_builtins(client: InProcessClient) -> None:
    p = await client.create("pods", "default", pod("zero"))
    assert p["spec"]["priority"] == 0 and p["spec"]["preemptionPolicy"] == "PreemptLowerPriority"
    await client.create("priorityclasses", "", _pc("high", 1000, policy="Never"))
    p = await client.create("pods", "default", pod("hi", priorityClassName="high"))
    assert p["spec"]["priority"] == 1000 and p["spec"]["preemptionPolicy"] == "Never"
    p = await client.create(
        "pods", "default", pod("crit", priorityClassName="system-node-critical")
    )
    assert p["spec"]["priority"] == 2000001000
    await client.create("priorityclasses", "", _pc("normal", 10, default=True))
    p = await client.create("pods", "default", pod("dflt"))
    assert p["spec"]["priority"] == 10 and p["spec"]["priorityClassName"] == "normal"
    with pytest.raises(StatusError) as e:
        await client.create("priorityclasses", "", _pc("other", 5, default=True))
    assert e.value.code == 403 and "already marked as default" in e.value.message


async def test_priority_errors(client: InProcessClient) -> None:
    with pytest.raises(StatusError) as e:
        await client.create("pods", "default", pod(priorityClassName="missing"))
    assert e.value.code == 403
    assert e.value.message.endswith("no PriorityClass with name missing was found")
    await client.create("priorityclasses", "", _pc("high", 1000))
    with pytest.raises(StatusError) as e:
        await client.create("pods", "default", pod(priorityClassName="high", priority=5))
    assert e.value.code == 403 and "must not be provided in pod spec" in e.value.message


async def test_plugins_can_be_turned_off(store: Store) -> None:
    api = APIServer(EmbeddedStorage(store), admission=AdmissionChain())
    p = await InProcessClient(api).create("pods", "default", pod())
    assert "serviceAccountName" not in p["spec"] and "tolerations" not in p["spec"]
