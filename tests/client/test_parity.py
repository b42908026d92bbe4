"""The two Client implementations give the same results: each semantic test runs once through
InProcessClient and once through GrpcClient (GrpcServer on port 0), both over one APIServer on
an in-memory store, and asserts the same objects and the same StatusError reason, code and
message. ``test_same_errors_from_both`` also sends each failing request through both clients at
once and compares the errors field by field."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable
from typing import Any

import pytest
from kubemu.client.grpc_client import GrpcClient
from kubemu.client.interface import (
    Client,
    DeleteOptions,
    EventType,
    ListOptions,
    PatchType,
    WatchEvent,
    WatchStream,
)
from kubemu.objects.errors import Reason, StatusError

from tests.apiserver.conftest import DEPLOYMENT, namespace, pod
from tests.client.conftest import Backend

Obj = dict[str, Any]


async def error_of(call: Awaitable[Any]) -> tuple[Reason, int, str]:
    with pytest.raises(StatusError) as info:
        await call
    e = info.value
    return e.reason, e.code, e.message


async def next_event(stream: WatchStream) -> WatchEvent:
    return await asyncio.wait_for(anext(aiter(stream)), 30)


# -- create / get -------------------------------------------------------------------------------


async def test_create_and_get(client: Client) -> None:
    created = await client.create("pods", "default", pod())
    meta, spec = created["metadata"], created["spec"]
    assert int(meta["resourceVersion"]) > 0 and meta["uid"] and meta["creationTimestamp"]
    assert (spec["restartPolicy"], spec["schedulerName"], spec["serviceAccountName"]) == (
        "Always",
        "default-scheduler",
        "default",
    )
    assert await client.get("pods", "default", "web") == created
    generated = await client.create(
        "configmaps", "default", {"metadata": {"generateName": "cfg-"}, "data": {"a": "1"}}
    )
    assert generated["metadata"]["name"].startswith("cfg-")
    assert generated["kind"] == "ConfigMap" and generated["apiVersion"] == "v1"
    dry = await client.create("pods", "default", pod("dry"), dry_run=True)
    assert dry["metadata"]["name"] == "dry"
    assert await error_of(client.get("pods", "default", "dry")) == (
        Reason.NOT_FOUND,
        404,
        'pods "dry" not found',
    )


async def test_create_errors(client: Client) -> None:
    await client.create("pods", "default", pod())
    assert await error_of(client.create("pods", "default", pod())) == (
        Reason.ALREADY_EXISTS,
        409,
        'pods "web" already exists',
    )
    assert await error_of(client.create("pods", "nope", pod(namespace="nope"))) == (
        Reason.NOT_FOUND,
        404,
        'namespaces "nope" not found',
    )
    bad = pod("Bad_Name")
    reason, code, message = await error_of(client.create("pods", "default", bad))
    assert (reason, code) == (Reason.INVALID, 422)
    assert message.startswith('Pod "Bad_Name" is invalid: metadata.name: Invalid value:')
    assert await error_of(client.get("widgets", "default", "x")) == (
        Reason.NOT_FOUND,
        404,
        "the server could not find the requested resource",
    )


# -- update, conflicts, status ------------------------------------------------------------------


async def test_update_conflict_and_generation(client: Client) -> None:
    created = await client.create("deployments", "default", copy.deepcopy(DEPLOYMENT))
    assert created["metadata"]["generation"] == 1
    scaled = copy.deepcopy(created)
    scaled["spec"]["replicas"] = 5
    updated = await client.update("deployments", "default", scaled)
    assert updated["metadata"]["generation"] == 2
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    stale = copy.deepcopy(created)
    stale["spec"]["replicas"] = 1
    assert await error_of(client.update("deployments", "default", stale)) == (
        Reason.CONFLICT,
        409,
        'Operation cannot be fulfilled on deployments.apps "nginx": the object has been '
        "modified; please apply your changes to the latest version and try again",
    )
    # An identical update writes nothing.
    same = await client.update("deployments", "default", updated)
    assert same["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]


async def test_status_only_through_the_subresource(client: Client) -> None:
    created = await client.create("pods", "default", pod())
    with_status = copy.deepcopy(created)
    with_status["status"]["phase"] = "Running"
    with_status["metadata"]["labels"]["x"] = "1"
    updated = await client.update("pods", "default", with_status)
    assert updated["status"].get("phase") == created["status"].get("phase")
    assert updated["metadata"]["labels"]["x"] == "1"
    status = copy.deepcopy(updated)
    status["status"]["phase"] = "Running"
    status["spec"]["nodeName"] = "node-9"  # spec is ignored by the status subresource
    after = await client.update_status("pods", "default", status)
    assert after["status"]["phase"] == "Running"
    assert "nodeName" not in after["spec"]
    assert await client.get("pods", "default", "web") == after


# -- patch --------------------------------------------------------------------------------------


async def test_patch_types(client: Client) -> None:
    await client.create("pods", "default", pod())
    merged = await client.patch(
        "pods", "default", "web", {"metadata": {"labels": {"app": None, "new": "1"}}}
    )
    assert merged["metadata"]["labels"] == {"new": "1"}
    jp = [{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]
    patched = await client.patch("pods", "default", "web", jp, PatchType.JSON)
    assert patched["metadata"]["annotations"] == {"a": "b"}
    sm = b'{"metadata":{"labels":{"s":"x"}}}'
    patched = await client.patch("pods", "default", "web", sm, PatchType.STRATEGIC)
    assert patched["metadata"]["labels"] == {"new": "1", "s": "x"}
    status = await client.patch(
        "pods", "default", "web", {"status": {"phase": "Running"}}, subresource="status"
    )
    assert status["status"]["phase"] == "Running"
    failed_test = [{"op": "test", "path": "/spec/nodeName", "value": "x"}]
    reason, code, _ = await error_of(
        client.patch("pods", "default", "web", failed_test, PatchType.JSON)
    )
    assert (reason, code) == (Reason.INVALID, 422)
    reason, code, _ = await error_of(client.patch("pods", "default", "web", b"{not json"))
    assert (reason, code) == (Reason.BAD_REQUEST, 400)
    assert await error_of(client.patch("pods", "default", "nope", {"metadata": {}})) == (
        Reason.NOT_FOUND,
        404,
        'pods "nope" not found',
    )


# -- delete -------------------------------------------------------------------------------------


async def test_graceful_delete_of_a_bound_pod(client: Client) -> None:
    await client.create("pods", "default", pod())
    await client.bind("default", "web", "node-1")
    left = await client.delete("pods", "default", "web")
    assert left["metadata"]["deletionTimestamp"]
    assert left["metadata"]["deletionGracePeriodSeconds"] == 30
    assert (await client.get("pods", "default", "web"))["metadata"]["deletionTimestamp"]
    await client.delete("pods", "default", "web", DeleteOptions(grace_period_seconds=0))
    assert await error_of(client.get("pods", "default", "web")) == (
        Reason.NOT_FOUND,
        404,
        'pods "web" not found',
    )
    assert await error_of(client.delete("pods", "default", "web")) == (
        Reason.NOT_FOUND,
        404,
        'pods "web" not found',
    )


async def test_finalizers_and_preconditions(client: Client) -> None:
    cm = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {}}
    created = await client.create("configmaps", "default", cm)
    reason, code, message = await error_of(
        client.delete("configmaps", "default", "held", DeleteOptions(preconditions_uid="other"))
    )
    assert (reason, code) == (Reason.CONFLICT, 409)
    assert "Precondition failed" in message
    left = await client.delete(
        "configmaps",
        "default",
        "held",
        DeleteOptions(preconditions_uid=created["metadata"]["uid"]),
    )
    assert left["metadata"]["deletionTimestamp"]
    released = copy.deepcopy(left)
    released["metadata"]["finalizers"] = []
    await client.update("configmaps", "default", released)
    assert (await error_of(client.get("configmaps", "default", "held")))[0] == Reason.NOT_FOUND


async def test_delete_collection(client: Client) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        p = pod(name)
        p["metadata"]["labels"] = {"app": app}
        await client.create("pods", "default", p)
    gone = await client.delete_collection("pods", "default", ListOptions(label_selector="app=x"))
    assert gone.kind == "PodList"
    assert sorted(o["metadata"]["name"] for o in gone.items) == ["a", "b"]
    left = await client.list("pods", "default")
    assert [o["metadata"]["name"] for o in left.items] == ["c"]


# -- list ---------------------------------------------------------------------------------------


async def test_list_paging_and_selectors(client: Client) -> None:
    await client.create("namespaces", "", namespace("other"))
    for i in range(7):
        p = pod(f"p{i}", "other" if i == 6 else "default")
        p["metadata"]["labels"] = {"app": "web", "n": str(i % 2)}
        await client.create("pods", p["metadata"]["namespace"], p)
    page = await client.list("pods", "", ListOptions(limit=3))
    assert page.kind == "PodList" and page.api_version == "v1"
    names = [o["metadata"]["name"] for o in page.items]
    assert names == ["p0", "p1", "p2"] and page.continue_ and page.remaining_item_count == 4
    while page.continue_:
        page = await client.list("pods", "", ListOptions(limit=3, continue_=page.continue_))
        names += [o["metadata"]["name"] for o in page.items]
    assert names == [f"p{i}" for i in range(7)] and page.remaining_item_count is None
    odd = await client.list("pods", "default", ListOptions(label_selector="n in (1)"))
    assert [o["metadata"]["name"] for o in odd.items] == ["p1", "p3", "p5"]
    other = await client.list("pods", "", ListOptions(field_selector="metadata.namespace=other"))
    assert [o["metadata"]["name"] for o in other.items] == ["p6"]
    assert await error_of(client.list("pods", "", ListOptions(field_selector="spec.x=1"))) == (
        Reason.BAD_REQUEST,
        400,
        "field label not supported: spec.x",
    )
    reason, code, _ = await error_of(client.list("pods", "", ListOptions(label_selector="a in")))
    assert (reason, code) == (Reason.BAD_REQUEST, 400)


# -- watch --------------------------------------------------------------------------------------


async def test_watch_from_resource_version(client: Client) -> None:
    first = await client.create("pods", "default", pod("a"))
    stream = await client.watch(
        "pods",
        "default",
        ListOptions(resource_version=first["metadata"]["resourceVersion"]),
    )
    try:
        b = await client.create("pods", "default", pod("b"))
        await client.patch("pods", "default", "b", {"metadata": {"labels": {"v": "2"}}})
        await client.delete("pods", "default", "b")
        events = [await next_event(stream) for _ in range(3)]
    finally:
        await stream.close()
    assert [e.type for e in events] == [EventType.ADDED, EventType.MODIFIED, EventType.DELETED]
    assert events[0].object == b
    assert events[1].object["metadata"]["labels"]["v"] == "2"
    rvs = [int(e.resource_version) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3


async def test_watch_field_selector_sees_binding(client: Client) -> None:
    await client.create("pods", "default", pod("a"))
    await client.create("pods", "default", pod("b"))
    stream = await client.watch(
        "pods", "", ListOptions(field_selector="spec.nodeName=node-1", resource_version="0")
    )
    try:
        await client.bind("default", "b", "node-1")
        ev = await next_event(stream)
    finally:
        await stream.close()
    assert ev.type == EventType.ADDED and ev.object["metadata"]["name"] == "b"
    assert ev.object["spec"]["nodeName"] == "node-1"


async def test_watch_from_compacted_revision_is_expired(client: Client, backend: Backend) -> None:
    a = await client.create("pods", "default", pod("a"))
    await client.create("pods", "default", pod("b"))
    backend.store.compact(backend.store.revision)
    rv = a["metadata"]["resourceVersion"]
    stream = await client.watch("pods", "", ListOptions(resource_version=rv))
    try:
        ev = await next_event(stream)
    finally:
        await stream.close()
    assert ev.type == EventType.ERROR
    assert (ev.object["reason"], ev.object["code"]) == ("Expired", 410)
    assert ev.object["message"] == (
        f"too old resource version: {rv} ({backend.store.compact_revision})"
    )


# -- bind and batches ---------------------------------------------------------------------------


async def test_bind(client: Client) -> None:
    created = await client.create("pods", "default", pod())
    await client.bind("default", "web", "node-1", uid=created["metadata"]["uid"])
    got = await client.get("pods", "default", "web")
    assert got["spec"]["nodeName"] == "node-1"
    assert any(
        c["type"] == "PodScheduled" and c["status"] == "True" for c in got["status"]["conditions"]
    )
    assert await error_of(client.bind("default", "web", "node-2")) == (
        Reason.CONFLICT,
        409,
        'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to '
        'node "node-1"',
    )
    assert (await error_of(client.bind("default", "nope", "n")))[:2] == (Reason.NOT_FOUND, 404)


async def test_batches(client: Client) -> None:
    await client.create("pods", "default", pod("dup"))
    bad = pod("bad")
    bad["spec"]["containers"] = []
    res = await client.create_many("pods", "default", [pod("a"), pod("dup"), bad, pod("b")])
    assert [o["metadata"]["name"] if o else None for o in res.objects] == ["a", None, None, "b"]
    errors = [(e.reason, e.code, e.message) if e else None for e in res.errors]
    assert errors[1] == (Reason.ALREADY_EXISTS, 409, 'pods "dup" already exists')
    assert errors[2] is not None and errors[2][:2] == (Reason.INVALID, 422)
    bound = await client.bind_many([("default", "a", "n1"), ("default", "zz", "n1")])
    assert bound.objects[0] is not None and bound.objects[0]["spec"]["nodeName"] == "n1"
    assert bound.errors[1] is not None and bound.errors[1].message == 'pods "zz" not found'
    a = await client.get("pods", "default", "a")
    b = await client.get("pods", "default", "b")
    a["metadata"]["labels"]["v"] = "1"
    stale = copy.deepcopy(b)
    stale["metadata"]["resourceVersion"] = "1"
    res = await client.update_many("pods", [a, stale])
    assert res.objects[0] is not None and res.objects[0]["metadata"]["labels"]["v"] == "1"
    assert res.errors[1] is not None and res.errors[1].reason == Reason.CONFLICT


@pytest.mark.parametrize("client", ["inprocess", "grpc"], indirect=True)
async def test_create_many_takes_the_namespace_from_each_object(client: Client) -> None:
    await client.create("namespaces", "", namespace("other"))
    res = await client.create_many("pods", "", [pod("a"), pod("b", "other")])
    assert res.ok, [e.message for e in res.errors if e]
    assert [o["metadata"]["namespace"] for o in res.objects if o] == ["default", "other"]


# -- both at once -------------------------------------------------------------------------------


async def test_same_errors_from_both(backend: Backend) -> None:
    """Each failing call through both clients: the same Status, field by field."""
    c = backend.inprocess
    created = await c.create("pods", "default", pod())
    stale = copy.deepcopy(created)
    stale["metadata"]["resourceVersion"] = "1"
    await c.create("pods", "default", pod("x"))
    bad = pod("x2")
    bad["spec"]["containers"] = [{"name": "A_B", "image": ""}]
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("get", ("pods", "default", "nope"), {}),
        ("get", ("things", "default", "x"), {}),
        ("create", ("pods", "default", pod()), {}),
        ("create", ("pods", "default", bad), {}),
        ("create", ("pods", "", pod("y")), {}),
        ("update", ("pods", "default", stale), {}),
        ("patch", ("pods", "default", "web", b"{not json"), {}),
        ("patch", ("pods", "default", "web", b"[]", "application/unknown"), {}),
        (
            "patch",
            ("pods", "default", "web", [{"op": "test", "path": "/a", "value": 1}]),
            {"patch_type": PatchType.JSON},
        ),
        ("delete", ("namespaces", "", "default"), {}),
        ("delete", ("pods", "default", "web", DeleteOptions(preconditions_uid="u")), {}),
        ("list", ("pods", "", ListOptions(field_selector="bad")), {}),
        ("list", ("pods", "", ListOptions(continue_="garbage")), {}),
        ("list", ("pods", "", ListOptions(resource_version="999999")), {}),
    ]
    for method, args, kwargs in calls:
        errors = []
        for client in (backend.inprocess, backend.grpc):
            with pytest.raises(StatusError) as info:
                await getattr(client, method)(*copy.deepcopy(args), **kwargs)
            errors.append(info.value.to_status())
        assert errors[0] == errors[1], (method, args)


async def test_same_objects_from_both(backend: Backend) -> None:
    """Objects written through one client read the same through the other."""
    one = await backend.inprocess.create("pods", "default", pod("one"))
    two = await backend.grpc.create("pods", "default", pod("two"))
    assert await backend.grpc.get("pods", "default", "one") == one
    assert await backend.inprocess.get("pods", "default", "two") == two
    lists = [await c.list("pods", "default") for c in (backend.inprocess, backend.grpc)]
    assert lists[0] == lists[1]
    assert [o["metadata"]["name"] for o in lists[0].items] == ["one", "two"]


# -- transport batching (the gRPC fast paths keep results identical) ---------------------------


async def test_watch_many_events_in_order(backend: Backend) -> None:
    """Thousands of events (more than one WatchBatch holds) reach both clients in store order,
    each with its own resourceVersion."""
    cms = [{"metadata": {"name": f"cm-{i:05d}"}, "data": {"i": str(i)}} for i in range(2_500)]
    result = await backend.inprocess.create_many("configmaps", "default", cms)
    assert not any(result.errors)
    seen: dict[str, list[tuple[str, str, str]]] = {}
    for name in ("inprocess", "grpc"):
        c: Client = getattr(backend, name)
        stream = await c.watch("configmaps", "default", ListOptions(resource_version="0"))
        events = [await next_event(stream) for _ in range(2_500)]
        await stream.close()
        seen[name] = [(e.type, e.object["metadata"]["name"], e.resource_version) for e in events]
    assert seen["grpc"] == seen["inprocess"]
    assert [n for _, n, _ in seen["grpc"]] == [f"cm-{i:05d}" for i in range(2_500)]
    assert all(t == "ADDED" and rv for t, _, rv in seen["grpc"])


async def test_list_large_packed(backend: Backend) -> None:
    cms = [{"metadata": {"name": f"cm-{i:05d}"}, "data": {"i": str(i)}} for i in range(1_500)]
    await backend.inprocess.create_many("configmaps", "default", cms)
    a = await backend.inprocess.list("configmaps", "default")
    b = await backend.grpc.list("configmaps", "default")
    assert a == b
    assert len(b.items) == 1_500 and all(i["metadata"]["resourceVersion"] for i in b.items)
    page = await backend.grpc.list("configmaps", "default", ListOptions(limit=100))
    assert page.items == a.items[:100] and page.continue_ and page.remaining_item_count == 1_400


async def test_unary_and_multiplexed_calls_agree(backend: Backend) -> None:
    """The single-object verbs over the Call stream and over one RPC each: same objects, same
    errors, also with many requests in flight at once."""
    unary = GrpcClient(backend.grpc.address, token="admin-token", multiplex=False)
    try:
        created = await asyncio.gather(
            *(backend.grpc.create("pods", "default", pod(f"p-{i}")) for i in range(200))
        )
        assert [c["metadata"]["name"] for c in created] == [f"p-{i}" for i in range(200)]
        for i in (0, 57, 199):
            assert await unary.get("pods", "default", f"p-{i}") == created[i]
            assert await backend.grpc.get("pods", "default", f"p-{i}") == created[i]
        for c in (unary, backend.grpc):
            assert await error_of(c.get("pods", "default", "nope")) == (
                Reason.NOT_FOUND, 404, 'pods "nope" not found',
            )  # fmt: skip
            assert (await error_of(c.create("pods", "default", pod("p-1"))))[0] == (
                Reason.ALREADY_EXISTS
            )
        stale = created[3]
        changed = {**stale, "metadata": {**stale["metadata"], "labels": {"v": "2"}}}
        await backend.grpc.update("pods", "default", changed)
        assert (await error_of(unary.update("pods", "default", stale)))[0] == Reason.CONFLICT
        bad = GrpcClient(backend.grpc.address, token="wrong")
        try:
            assert (await error_of(bad.get("pods", "default", "p-1")))[0] == Reason.UNAUTHORIZED
        finally:
            await bad.close()
    finally:
        await unary.close()


async def _collect_batches(stream: Any, n: int, raw: bool) -> list[list[Any]]:
    """Batches from ``batches()`` / ``raw_batches()`` until ``n`` events have come."""
    out: list[list[Any]] = []
    gen = stream.raw_batches() if raw else stream.batches()

    async def take() -> None:
        count = 0
        async for batch in gen:
            out.append(batch)
            count += len(batch)
            if count >= n:
                return

    try:
        await asyncio.wait_for(take(), 30)
    finally:
        await gen.aclose()
    return out


async def test_watch_batches_and_raw_batches_agree_with_iteration(backend: Backend) -> None:
    """``batches()`` and ``raw_batches()`` hand out the same events as iteration, in order,
    with selector transitions; raw items are the stored bytes plus the resourceVersion."""
    from kubemu.apiserver.codec import decode_trusted
    from kubemu.client.interface import BatchWatchStream

    first = await backend.inprocess.create("pods", "default", pod("first"))
    rv = first["metadata"]["resourceVersion"]
    opts = ListOptions(label_selector="tier=web", resource_version=rv)
    names = ("inprocess", "grpc")
    streams: dict[str, list[Any]] = {}
    for name in names:
        c: Client = getattr(backend, name)
        streams[name] = [await c.watch("pods", "default", opts) for _ in range(3)]
    # a enters the selection, changes in it, leaves it (DELETED with its previous state),
    # enters again (ADDED), then is deleted; b never matches.
    await backend.inprocess.create("pods", "default", pod("b"))
    a = pod("a")
    a["metadata"]["labels"] = {"tier": "web"}
    await backend.inprocess.create("pods", "default", a)
    await backend.inprocess.patch("pods", "default", "a", {"metadata": {"labels": {"v": "2"}}})
    await backend.inprocess.patch("pods", "default", "a", {"metadata": {"labels": {"tier": "db"}}})
    await backend.inprocess.patch("pods", "default", "a", {"metadata": {"labels": {"tier": "web"}}})
    await backend.inprocess.delete("pods", "default", "a", DeleteOptions(grace_period_seconds=0))
    n = 5
    seen: dict[str, list[list[tuple[str, str, str, Any]]]] = {}
    for name in names:
        by_iter, by_batch, by_raw = streams[name]
        assert isinstance(by_batch, BatchWatchStream)
        try:
            iterated = [await next_event(by_iter) for _ in range(n)]
            batched = [e for b in await _collect_batches(by_batch, n, False) for e in b]
            raw = [i for b in await _collect_batches(by_raw, n, True) for i in b]
        finally:
            for s in streams[name]:
                await s.close()
        decoded = []
        for etype, item_rv, data in raw:
            obj = decode_trusted(data)
            assert "resourceVersion" not in obj["metadata"]
            obj["metadata"]["resourceVersion"] = str(item_rv)
            decoded.append(WatchEvent(EventType(etype), obj))
        seen[name] = [
            [(e.type, e.object["metadata"]["name"], e.resource_version, e.object) for e in evs]
            for evs in (iterated, batched, decoded)
        ]
        assert seen[name][0] == seen[name][1] == seen[name][2]
    assert seen["grpc"] == seen["inprocess"]
    events = seen["grpc"][0]
    assert [t for t, *_ in events] == ["ADDED", "MODIFIED", "DELETED", "ADDED", "DELETED"]
    assert {name for _, name, *_ in events} == {"a"}
    rvs = [int(r) for _, _, r, _ in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == n
    # Leaving the selection: the previous state (still tier=web) at the new resourceVersion.
    assert events[2][3]["metadata"]["labels"]["tier"] == "web"


async def test_watch_batches_end_with_gone_for_a_slow_stream(backend: Backend) -> None:
    """A stream that falls behind gets its ERROR Gone as the last event of its last batch."""
    backend.api.watchers.queue_size = 3
    for name in ("inprocess", "grpc"):
        c: Client = getattr(backend, name)
        rv = (await c.list("pods", "default")).resource_version
        stream: Any = await c.watch("pods", "default", ListOptions(resource_version=rv))
        for i in range(5):
            await backend.inprocess.create("pods", "default", pod(f"{name}-{i}"))
        items = [i for b in await _collect_batches(stream, 1, True) for i in b]
        await stream.close()
        assert [t for t, _, _ in items] == ["ERROR"]
        from kubemu.apiserver.codec import decode_trusted

        assert decode_trusted(items[0][2])["code"] == 410
