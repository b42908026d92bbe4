"""renew_leases: many Lease heartbeats in one call, through both clients."""

from __future__ import annotations

import re
from typing import Any

import pytest
from kubemu.apiserver.request import RequestInfo, UserInfo
from kubemu.client.interface import Client
from kubemu.objects.errors import Reason, StatusError

from tests.client.conftest import Backend

NS = "kube-node-lease"


def lease(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40},
    }


async def make_leases(c: Client, *names: str) -> dict[str, Any]:
    # kube-node-lease is one of the namespaces the apiserver makes at start.
    return {n: await c.create("leases", NS, lease(n)) for n in names}


async def test_renews_each_lease_and_reports_missing_ones(client: Client) -> None:
    created = await make_leases(client, "node-1", "node-2")
    t = "2026-11-26T10:00:00.123456Z"
    result = await client.renew_leases([(NS, "node-1"), (NS, "gone"), (NS, "node-2")], t)
    first, missing, second = result.objects
    assert missing is None and first is not None and second is not None
    assert [e.reason if e else None for e in result.errors] == [None, Reason.NOT_FOUND, None]
    for renewed, name in ((first, "node-1"), (second, "node-2")):
        assert renewed["spec"] == {
            "holderIdentity": name,
            "leaseDurationSeconds": 40,
            "renewTime": t,
        }
        before = int(created[name]["metadata"]["resourceVersion"])
        assert int(renewed["metadata"]["resourceVersion"]) > before
        assert await client.get("leases", NS, name) == renewed


async def test_default_renew_time_is_the_server_clock(client: Client) -> None:
    await make_leases(client, "node-1")
    result = await client.renew_leases([(NS, "node-1")])
    [renewed] = result.objects
    assert renewed is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", renewed["spec"]["renewTime"])


async def test_malformed_time_fails_the_call(client: Client) -> None:
    await make_leases(client, "node-1")
    with pytest.raises(StatusError) as info:
        await client.renew_leases([(NS, "node-1")], "yesterday")
    assert info.value.reason == Reason.BAD_REQUEST and "renewTime" in info.value.message
    assert "renewTime" not in (await client.get("leases", NS, "node-1"))["spec"]


async def test_a_concurrent_write_is_renewed_again_not_overwritten(backend: Backend) -> None:
    c = backend.inprocess
    await make_leases(c, "node-1")
    api = backend.api
    original = api.update_many
    raced = False

    async def racing_update_many(resource: str, objs: Any, *, user: UserInfo) -> Any:
        nonlocal raced
        if not raced:  # someone takes the lease between the read and the write
            raced = True
            cur = await c.get("leases", NS, "node-1")
            cur["spec"]["holderIdentity"] = "other-holder"
            await c.update("leases", NS, cur)
        return await original(resource, objs, user=user)

    api.update_many = racing_update_many  # type: ignore[method-assign]
    result = await c.renew_leases([(NS, "node-1")], "2026-11-26T10:00:00.000000Z")
    assert result.errors == [None]
    final = await c.get("leases", NS, "node-1")
    assert final["spec"]["holderIdentity"] == "other-holder"
    assert final["spec"]["renewTime"] == "2026-11-26T10:00:00.000000Z"


class DenyLeases:
    def authorize(self, user: UserInfo, request: RequestInfo) -> str | None:
        return "no" if request.resource == "leases" else None


async def test_forbidden_before_any_read(backend: Backend) -> None:
    backend.api.authorizer = DenyLeases()
    with pytest.raises(StatusError) as info:
        await backend.inprocess.renew_leases([(NS, "does-not-exist")])
    assert info.value.reason == Reason.FORBIDDEN
