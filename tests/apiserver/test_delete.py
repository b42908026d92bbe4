"""Graceful pod deletion, finalizers, namespaces, preconditions, delete_collection."""

from __future__ import annotations

import pytest
from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import DeleteOptions, ListOptions
from kubemu.objects import StatusError

from tests.apiserver.conftest import namespace, pod


async def _bound_pod(client: InProcessClient, name: str = "web", **spec: object) -> None:
    await client.create("pods", "default", pod(name, **spec))
    await client.bind("default", name, "node-1")


async def test_bound_pod_is_deleted_gracefully_then_finally(client: InProcessClient) -> None:
    await _bound_pod(client, terminationGracePeriodSeconds=45)
    left = await client.delete("pods", "default", "web")
    assert left["metadata"]["deletionTimestamp"]
    assert left["metadata"]["deletionGracePeriodSeconds"] == 45
    still = await client.get("pods", "default", "web")
    assert still["metadata"]["deletionGracePeriodSeconds"] == 45
    # A longer grace does not extend it; a shorter one shortens it.
    again = await client.delete("pods", "default", "web", DeleteOptions(grace_period_seconds=60))
    assert again["metadata"]["deletionGracePeriodSeconds"] == 45
    shorter = await client.delete("pods", "default", "web", DeleteOptions(grace_period_seconds=5))
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 5
    # The kubelet's final delete.
    await client.delete("pods", "default", "web", DeleteOptions(grace_period_seconds=0))
    with pytest.raises(StatusError) as e:
        await client.get("pods", "default", "web")
    assert e.value.code == 404


async def test_default_grace_is_thirty_seconds(client: InProcessClient) -> None:
    await _bound_pod(client)
    left = await client.delete("pods", "default", "web")
    assert left["metadata"]["deletionGracePeriodSeconds"] == 30


async def test_unscheduled_pod_is_deleted_immediately(client: InProcessClient) -> None:
    await client.create("pods", "default", pod())
    last = await client.delete("pods", "default", "web")
    assert "deletionTimestamp" not in last["metadata"]
    assert (await client.list("pods", "default")).items == []


async def test_finalizers_hold_deletion(client: InProcessClient) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default", "finalizers": ["example.com/hold"]},
    }
    await client.create("configmaps", "default", cm)
    left = await client.delete("configmaps", "default", "c")
    assert left["metadata"]["deletionTimestamp"]
    held = await client.get("configmaps", "default", "c")
    assert held["metadata"]["deletionTimestamp"]
    held["metadata"]["finalizers"] = []
    await client.update("configmaps", "default", held)
    with pytest.raises(StatusError) as e:
        await client.get("configmaps", "default", "c")
    assert e.value.code == 404


async def test_pod_with_finalizer_and_grace_zero_stays_until_finalized(
    client: InProcessClient,
) -> None:
    p = pod()
    p["metadata"]["finalizers"] = ["example.com/x"]
    await client.create("pods", "default", p)
    await client.bind("default", "web", "n1")
    await client.delete("pods", "default", "web", DeleteOptions(grace_period_seconds=0))
    got = await client.get("pods", "default", "web")
    assert got["metadata"]["deletionGracePeriodSeconds"] == 0
    await client.patch("pods", "default", "web", {"metadata": {"finalizers": None}})
    with pytest.raises(StatusError):
        await client.get("pods", "default", "web")


async def test_namespace_deletion_sets_terminating_and_blocks_creates(
    client: InProcessClient,
) -> None:
    await client.create("namespaces", "", namespace("team"))
    left = await client.delete("namespaces", "", "team")
    assert left["status"]["phase"] == "Terminating"
    got = await client.get("namespaces", "", "team")
    assert got["status"]["phase"] == "Terminating" and got["metadata"]["deletionTimestamp"]
    with pytest.raises(StatusError) as e:
        await client.create("pods", "team", pod(namespace="team"))
    assert e.value.code == 403
    assert e.value.message == (
        'pods "web" is forbidden: unable to create new content in namespace team because it '
        "is being terminated"
    )
    # The namespace controller finalizes it, then deletes it.
    await client.patch(
        "namespaces", "", "team", {"spec": {"finalizers": []}}, subresource="finalize"
    )
    with pytest.raises(StatusError):
        await client.get("namespaces", "", "team")


async def test_system_namespace_cannot_be_deleted(client: InProcessClient) -> None:
    with pytest.raises(StatusError) as e:
        await client.delete("namespaces", "", "default")
    assert e.value.code == 403


async def test_preconditions(client: InProcessClient) -> None:
    created = await client.create("pods", "default", pod())
    with pytest.raises(StatusError) as e:
        await client.delete("pods", "default", "web", DeleteOptions(preconditions_uid="other"))
    assert e.value.code == 409 and "Precondition failed: UID in precondition" in e.value.message
    with pytest.raises(StatusError) as e:
        await client.delete(
            "pods", "default", "web", DeleteOptions(preconditions_resource_version="1")
        )
    assert e.value.code == 409
    await client.delete(
        "pods", "default", "web", DeleteOptions(preconditions_uid=created["metadata"]["uid"])
    )


async def test_delete_missing_is_not_found(client: InProcessClient) -> None:
    with pytest.raises(StatusError) as e:
        await client.delete("pods", "default", "nope")
    assert e.value.code == 404


async def test_delete_collection_by_selector(client: InProcessClient) -> None:
    for i in range(5):
        p = pod(f"p{i}")
        p["metadata"]["labels"] = {"group": "a" if i < 3 else "b"}
        await client.create("pods", "default", p)
    out = await client.delete_collection("pods", "default", ListOptions(label_selector="group=a"))
    assert sorted(o["metadata"]["name"] for o in out.items) == ["p0", "p1", "p2"]
    left = await client.list("pods", "default")
    assert sorted(o["metadata"]["name"] for o in left.items) == ["p3", "p4"]
