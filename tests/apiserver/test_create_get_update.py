"""Create, get, update and update_status semantics through the in-process client."""

from __future__ import annotations

import pytest
from kubemu.apiserver import APIServer
from kubemu.client.inprocess import InProcessClient
from kubemu.objects import StatusError

from tests.apiserver.conftest import DEPLOYMENT, namespace, node, pod


async def test_create_sets_system_fields_and_get_returns_it(client: InProcessClient) -> None:
    created = await client.create("pods", "default", pod())
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1 and int(meta["resourceVersion"]) > 0
    assert created["status"]["phase"] == "Pending"
    got = await client.get("pods", "default", "web")
    assert got == created


async def test_get_missing_is_not_found_with_upstream_message(client: InProcessClient) -> None:
    with pytest.raises(StatusError) as e:
        await client.get("pods", "default", "nope")
    assert e.value.code == 404 and e.value.message == 'pods "nope" not found'


async def test_unknown_resource_is_not_found(client: InProcessClient) -> None:
    with pytest.raises(StatusError) as e:
        await client.get("widgets", "default", "x")
    assert e.value.code == 404


async def test_create_twice_is_already_exists(client: InProcessClient) -> None:
    await client.create("pods", "default", pod())
    with pytest.raises(StatusError) as e:
        await client.create("pods", "default", pod())
    assert e.value.reason == "AlreadyExists"
    assert e.value.message == 'pods "web" already exists'


async def test_generate_name_retries_on_collision(
    client: InProcessClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kubemu.apiserver.creating as creating

    names = iter(["web-aaaaa", "web-aaaaa", "web-bbbbb"])
    monkeypatch.setattr(creating, "generate_name", lambda base: next(names))
    # prepare_for_create uses the objects layer's generator for the first name.
    p = pod()
    del p["metadata"]["name"]
    p["metadata"]["generateName"] = "web-"
    first = await client.create("pods", "default", p)
    assert first["metadata"]["name"].startswith("web-")
    clash = pod(first["metadata"]["name"])
    del clash["metadata"]["name"]
    clash["metadata"]["generateName"] = "web-"
    # Force the first generated name to collide.
    from kubemu.objects.kinds import base

    monkeypatch.setattr(base, "prepare_create", _fixed_name(first["metadata"]["name"]))
    second = await client.create("pods", "default", clash)
    assert second["metadata"]["name"] not in (first["metadata"]["name"],)


def _fixed_name(name: str):  # type: ignore[no-untyped-def]
    from kubemu.objects import meta

    def prepare(obj, *, now=None, uid=None, name_generator=None):  # type: ignore[no-untyped-def]
        meta.prepare_create(obj, now=now, uid=uid, name_generator=lambda base: name)

    return prepare


async def test_generate_name_gives_up_after_attempts(
    client: InProcessClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kubemu.apiserver.creating as creating
    from kubemu.objects.kinds import base

    await client.create("pods", "default", pod("web-x"))
    monkeypatch.setattr(creating, "generate_name", lambda b: "web-x")
    monkeypatch.setattr(base, "prepare_create", _fixed_name("web-x"))
    p = pod()
    del p["metadata"]["name"]
    p["metadata"]["generateName"] = "web-"
    with pytest.raises(StatusError) as e:
        await client.create("pods", "default", p)
    assert e.value.reason == "AlreadyExists"
    assert "was not able to generate a unique name" in e.value.message


async def test_namespace_must_exist(client: InProcessClient) -> None:
    with pytest.raises(StatusError) as e:
        await client.create("pods", "missing", pod(namespace="missing"))
    assert e.value.code == 404 and e.value.message == 'namespaces "missing" not found'


async def test_namespace_mismatch_is_bad_request(client: InProcessClient) -> None:
    await client.create("namespaces", "", namespace("other"))
    with pytest.raises(StatusError) as e:
        await client.create("pods", "other", pod(namespace="default"))
    assert e.value.reason == "BadRequest"


async def test_cluster_scoped_kind_ignores_namespace(client: InProcessClient) -> None:
    n = await client.create("nodes", "", node("n1"))
    assert "namespace" not in n["metadata"]
    assert (await client.get("nodes", "", "n1"))["metadata"]["name"] == "n1"
    assert [i["metadata"]["name"] for i in (await client.list("nodes")).items] == ["n1"]


async def test_invalid_object_has_field_causes(client: InProcessClient) -> None:
    bad = pod()
    bad["spec"]["containers"][0]["name"] = "Bad_Name"
    with pytest.raises(StatusError) as e:
        await client.create("pods", "default", bad)
    assert e.value.code == 422
    causes = e.value.details["causes"]  # type: ignore[index]
    assert any(c["field"] == "spec.containers[0].name" for c in causes)


async def test_dry_run_does_not_store(client: InProcessClient) -> None:
    out = await client.create("pods", "default", pod(), dry_run=True)
    assert out["metadata"]["uid"]
    with pytest.raises(StatusError):
        await client.get("pods", "default", "web")


async def test_stale_resource_version_is_conflict(client: InProcessClient) -> None:
    created = await client.create("configmaps", "default", _cm("c", a="1"))
    first = dict(created, data={"a": "2"})
    await client.update("configmaps", "default", first)
    stale = dict(created, data={"a": "3"})
    with pytest.raises(StatusError) as e:
        await client.update("configmaps", "default", stale)
    assert e.value.code == 409
    assert e.value.message == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


async def test_unconditional_update_and_noop_keeps_version(client: InProcessClient) -> None:
    created = await client.create("configmaps", "default", _cm("c", a="1"))
    rv = int(created["metadata"].pop("resourceVersion"))
    obj = dict(created, data={"a": "2"})
    updated = await client.update("configmaps", "default", obj)
    assert int(updated["metadata"]["resourceVersion"]) > rv
    again = await client.update("configmaps", "default", updated)
    assert again["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]


async def test_update_missing_is_not_found(client: InProcessClient) -> None:
    with pytest.raises(StatusError) as e:
        await client.update("configmaps", "default", _cm("nope"))
    assert e.value.code == 404


async def test_status_subresource_isolation_and_generation(client: InProcessClient) -> None:
    d = await client.create("deployments", "default", DEPLOYMENT)
    assert d["metadata"]["generation"] == 1
    # An update cannot change status.
    d["status"] = {"replicas": 7}
    d["metadata"]["labels"]["x"] = "y"
    d = await client.update("deployments.apps", "default", d)
    assert d["status"].get("replicas") is None and d["metadata"]["generation"] == 1
    # A spec change bumps the generation.
    d["spec"]["replicas"] = 5
    d = await client.update("deployments", "default", d)
    assert d["metadata"]["generation"] == 2
    # A status update cannot change the spec.
    d["spec"]["replicas"] = 9
    d["status"] = {"replicas": 5, "observedGeneration": 2}
    d = await client.update_status("deployments", "default", d)
    assert d["spec"]["replicas"] == 5 and d["status"]["replicas"] == 5
    assert d["metadata"]["generation"] == 2


async def test_status_of_kind_without_status_is_not_found(client: InProcessClient) -> None:
    cm = await client.create("configmaps", "default", _cm("c"))
    with pytest.raises(StatusError) as e:
        await client.update_status("configmaps", "default", cm)
    assert e.value.code == 404


async def test_returned_objects_are_private_copies(client: InProcessClient) -> None:
    src = pod()
    created = await client.create("pods", "default", src)
    src["metadata"]["labels"]["app"] = "changed"
    created["metadata"]["labels"]["app"] = "changed"
    got = await client.get("pods", "default", "web")
    assert got["metadata"]["labels"]["app"] == "web"
    got["spec"]["containers"].clear()
    assert (await client.get("pods", "default", "web"))["spec"]["containers"]


async def test_system_namespaces_and_priority_classes_exist(api: APIServer) -> None:
    client = InProcessClient(api)
    names = {n["metadata"]["name"] for n in (await client.list("namespaces")).items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    pcs = {p["metadata"]["name"] for p in (await client.list("priorityclasses")).items}
    assert pcs == {"system-node-critical", "system-cluster-critical"}


def _cm(name: str, **data: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": dict(data),
    }
