"""pods/binding, batches with per-item results, and patches."""

from __future__ import annotations

import json

import pytest
from kubemu.apiserver.patching import merge_patch
from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import PatchType
from kubemu.objects import StatusError

from tests.apiserver.conftest import pod


async def test_bind_sets_node_and_condition_and_second_bind_conflicts(
    client: InProcessClient,
) -> None:
    created = await client.create("pods", "default", pod())
    await client.bind("default", "web", "node-1", uid=created["metadata"]["uid"])
    got = await client.get("pods", "default", "web")
    assert got["spec"]["nodeName"] == "node-1"
    cond = [c for c in got["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond and cond[0]["status"] == "True"
    with pytest.raises(StatusError) as e:
        await client.bind("default", "web", "node-2")
    assert e.value.code == 409
    assert e.value.message == (
        'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to '
        'node "node-1"'
    )


async def test_bind_with_wrong_uid_and_missing_pod(client: InProcessClient) -> None:
    await client.create("pods", "default", pod())
    with pytest.raises(StatusError) as e:
        await client.bind("default", "web", "n1", uid="other")
    assert e.value.code == 409
    with pytest.raises(StatusError) as e:
        await client.bind("default", "nope", "n1")
    assert e.value.code == 404


async def test_create_many_partial_failures(client: InProcessClient) -> None:
    await client.create("pods", "default", pod("dup"))
    bad = pod("bad")
    bad["spec"]["containers"] = []
    objs = [pod("a"), pod("dup"), bad, pod("b"), pod("b")]
    res = await client.create_many("pods", "default", objs)
    assert not res.ok
    assert [o is not None for o in res.objects] == [True, False, False, True, False]
    errs = [e.reason.value if e else None for e in res.errors]
    assert errs == [None, "AlreadyExists", "Invalid", None, "AlreadyExists"]
    a = res.objects[0]
    assert a is not None and a["spec"]["serviceAccountName"] == "default"
    stored = await client.get("pods", "default", "a")
    assert stored["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]


async def test_create_many_generate_name(client: InProcessClient) -> None:
    objs = []
    for _ in range(100):
        p = pod()
        del p["metadata"]["name"]
        p["metadata"]["generateName"] = "gen-"
        objs.append(p)
    res = await client.create_many("pods", "default", objs)
    assert res.ok
    assert len({o["metadata"]["name"] for o in res.objects if o}) == 100


async def test_bind_many(client: InProcessClient) -> None:
    await client.create_many("pods", "default", [pod(f"p{i}") for i in range(3)])
    await client.bind("default", "p1", "n9")
    res = await client.bind_many(
        [("default", "p0", "n1"), ("default", "p1", "n1"), ("default", "p2", "n2"),
         ("default", "nope", "n1")]
    )  # fmt: skip
    errs = [e.code if e else None for e in res.errors]
    assert errs == [None, 409, None, 404]
    assert (await client.get("pods", "default", "p2"))["spec"]["nodeName"] == "n2"


async def test_update_many_with_per_item_concurrency(client: InProcessClient) -> None:
    leases = []
    for i in range(3):
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": f"n{i}", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": f"n{i}", "leaseDurationSeconds": 40},
        }
        leases.append(await client.create("leases", "kube-node-lease", lease))
    stale = json.loads(json.dumps(leases[1]))
    leases[1]["spec"]["renewTime"] = "2024-01-01T00:00:00.000000Z"
    await client.update("leases", "kube-node-lease", leases[1])
    for lease in (leases[0], stale, leases[2]):
        lease["spec"]["renewTime"] = "2024-01-01T00:00:10.000000Z"
    res = await client.update_many("leases.coordination.k8s.io", [leases[0], stale, leases[2]])
    assert [e.code if e else None for e in res.errors] == [None, 409, None]
    got = await client.get("leases", "kube-node-lease", "n2")
    assert got["spec"]["renewTime"] == "2024-01-01T00:00:10.000000Z"


async def test_merge_patch_and_json_patch(client: InProcessClient) -> None:
    await client.create("pods", "default", pod())
    out = await client.patch(
        "pods", "default", "web", {"metadata": {"labels": {"app": None, "new": "1"}}}
    )
    assert out["metadata"]["labels"] == {"new": "1"}
    out = await client.patch(
        "pods",
        "default",
        "web",
        [{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}],
        PatchType.JSON,
    )
    assert out["metadata"]["annotations"] == {"a": "b"}
    out = await client.patch(
        "pods", "default", "web", b'{"metadata":{"labels":{"s":"x"}}}', PatchType.STRATEGIC
    )
    assert out["metadata"]["labels"] == {"new": "1", "s": "x"}


async def test_patch_status_and_errors(client: InProcessClient) -> None:
    await client.create("pods", "default", pod())
    out = await client.patch(
        "pods", "default", "web", {"status": {"phase": "Running"}}, subresource="status"
    )
    assert out["status"]["phase"] == "Running"
    # Status changes through the main resource are ignored.
    out = await client.patch("pods", "default", "web", {"status": {"phase": "Failed"}})
    assert out["status"]["phase"] == "Running"
    with pytest.raises(StatusError) as e:
        await client.patch("pods", "default", "web", b"{not json")
    assert e.value.code == 400
    with pytest.raises(StatusError) as e:
        await client.patch(
            "pods",
            "default",
            "web",
            [{"op": "test", "path": "/spec/nodeName", "value": "x"}],
            PatchType.JSON,
        )
    assert e.value.code == 422
    with pytest.raises(StatusError) as e:
        await client.patch("pods", "default", "web", {"metadata": {"resourceVersion": "1"}})
    assert e.value.code == 409
    with pytest.raises(StatusError) as e:
        await client.patch("pods", "default", "nope", {"metadata": {}})
    assert e.value.code == 404


def test_merge_patch_rfc7386_examples() -> None:
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch(["a"], {"a": "b"}) == {"a": "b"}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
