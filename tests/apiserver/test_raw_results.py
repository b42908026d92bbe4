"""The core's byte-returning variants (``get_raw``, ``create_raw``, ``update_raw``,
``update_status_raw``, ``list_stored``) that transports use to send stored bytes on without
re-encoding: they are the same verbs, so decoding what they return gives what the dict verbs
return and what a later GET sees."""

from __future__ import annotations

import msgpack  # type: ignore[import-untyped]
import pytest
from kubemu.apiserver import APIServer, codec
from kubemu.apiserver.request import SYSTEM_ADMIN
from kubemu.apiserver.storage import RevisionMismatch, StoredObject
from kubemu.apiserver.watch import RawObject
from kubemu.client.interface import ListOptions
from kubemu.objects.errors import StatusError

from tests.apiserver.conftest import pod

U = SYSTEM_ADMIN


async def test_create_raw_is_create_as_stored_bytes(api: APIServer) -> None:
    raw = await api.create_raw("pods", "default", codec.encode(pod("a")), user=U)
    assert isinstance(raw, RawObject) and raw.resource_version > 0
    stored = api.storage.get(api.kind("pods").key("default", "a"))
    assert stored is not None
    assert (raw.data, raw.resource_version) == (stored.value, stored.revision)
    assert raw.decode() == await api.get("pods", "default", "a", user=U)
    assert "resourceVersion" not in msgpack.unpackb(raw.data)["metadata"]  # as stored


async def test_create_raw_dry_run_and_errors(api: APIServer) -> None:
    dry = await api.create_raw("pods", "default", pod("d"), user=U, dry_run=True)
    assert dry.resource_version == 0 and dry.decode()["metadata"]["name"] == "d"
    assert api.storage.get(api.kind("pods").key("default", "d")) is None
    await api.create_raw("pods", "default", pod("a"), user=U)
    with pytest.raises(StatusError) as e:
        await api.create_raw("pods", "default", pod("a"), user=U)
    assert e.value.reason == "AlreadyExists"


async def test_get_raw_is_get_as_stored_bytes(api: APIServer) -> None:
    await api.create("pods", "default", pod("a"), user=U)
    raw = await api.get_raw("pods", "default", "a", user=U)
    assert raw.decode() == await api.get("pods", "default", "a", user=U)
    with pytest.raises(StatusError) as e:
        await api.get_raw("pods", "default", "missing", user=U)
    assert e.value.message == 'pods "missing" not found'


async def test_update_raw_and_noop_and_conflict(api: APIServer) -> None:
    created = await api.create("pods", "default", pod("a"), user=U)
    created["metadata"]["labels"]["tier"] = "web"
    raw = await api.update_raw("pods", "default", codec.encode(created), user=U)
    got = await api.get("pods", "default", "a", user=U)
    assert raw.decode() == got and got["metadata"]["labels"]["tier"] == "web"
    assert raw.resource_version > int(created["metadata"]["resourceVersion"])
    # Identical to the stored object: nothing written, same resourceVersion and bytes.
    again = await api.update_raw("pods", "default", got, user=U)
    assert (again.data, again.resource_version) == (raw.data, raw.resource_version)
    with pytest.raises(StatusError) as e:  # the resourceVersion of `created` is stale now
        await api.update_raw("pods", "default", created, user=U)
    assert e.value.reason == "Conflict"


async def test_update_status_raw_changes_only_status(api: APIServer) -> None:
    created = await api.create("pods", "default", pod("a"), user=U)
    created["status"]["phase"] = "Running"
    created["spec"]["containers"][0]["image"] = "ignored:1"
    raw = await api.update_status_raw("pods", "default", created, user=U)
    obj = raw.decode()
    assert obj["status"]["phase"] == "Running"
    assert obj["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert obj == await api.get("pods", "default", "a", user=U)


async def test_update_raw_that_deletes_on_last_finalizer(api: APIServer) -> None:
    p = pod("a")
    p["metadata"]["finalizers"] = ["example.com/hold"]
    await api.create("pods", "default", p, user=U)
    await api.delete("pods", "default", "a", user=U)
    held = await api.get("pods", "default", "a", user=U)
    assert held["metadata"].get("deletionTimestamp")
    held["metadata"]["finalizers"] = []
    raw = await api.update_raw("pods", "default", held, user=U)
    assert raw.decode()["metadata"]["finalizers"] == []
    assert raw.resource_version == int(held["metadata"]["resourceVersion"])
    assert api.storage.get(api.kind("pods").key("default", "a")) is None


async def test_unconditional_update_retried_from_the_request_bytes(
    api: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent write between the read and the CAS makes an update without a
    resourceVersion start again from the request: the request's bytes, checked again
    (namespace filled in, apiVersion/kind set), applied to the newer object."""
    request = await api.create("pods", "default", pod("a"), user=U)
    del request["metadata"]["resourceVersion"]
    del request["metadata"]["namespace"]
    del request["apiVersion"]
    request["metadata"]["labels"]["tier"] = "db"
    storage = api.storage
    update = storage.update
    raced: list[int] = []

    def racing_update(key: bytes, value: bytes, expected: int) -> int:
        if not raced:  # another writer gets there first
            current = storage.get(key)
            assert isinstance(current, StoredObject)
            other = msgpack.unpackb(current.value)
            other["metadata"]["annotations"] = {"other": "writer"}
            raced.append(update(key, codec.encode(other), current.revision))
            with pytest.raises(RevisionMismatch):
                update(key, value, expected)
            raise RevisionMismatch(storage.get(key))
        return update(key, value, expected)

    monkeypatch.setattr(storage, "update", racing_update)
    raw = await api.update_raw("pods", "default", codec.encode(request), user=U)
    obj = raw.decode()
    assert raced and raw.resource_version > raced[0]
    assert obj["metadata"]["labels"]["tier"] == "db"
    assert obj["metadata"]["namespace"] == "default" and obj["apiVersion"] == "v1"
    assert obj == await api.get("pods", "default", "a", user=U)


async def test_list_stored_matches_list(api: APIServer) -> None:
    for i in range(5):
        labels = {"app": "web" if i % 2 else "db"}
        p = pod(f"p{i}")
        p["metadata"]["labels"] = labels
        await api.create("pods", "default", p, user=U)
    for options in (None, ListOptions(label_selector="app=web"), ListOptions(limit=2)):
        listed = await api.list("pods", "default", options, user=U)
        stored = await api.list_stored("pods", "default", options, user=U)
        assert [(s.value, s.revision) for s in stored.items] == [
            (r.data, r.resource_version) for r in listed.items
        ]
        assert (stored.kind, stored.resource_version, stored.remaining_item_count) == (
            listed.kind,
            listed.resource_version,
            listed.remaining_item_count,
        )
        assert bool(stored.continue_) == bool(listed.continue_)


async def test_request_metrics_count_each_code(api: APIServer) -> None:
    """The request counter's children are looked up once per label set: counts stay right."""
    await api.create("pods", "default", pod("a"), user=U)
    for _ in range(3):
        await api.get_raw("pods", "default", "a", user=U)
    for _ in range(2):
        with pytest.raises(StatusError):
            await api.get("pods", "default", "missing", user=U)
    reg = api.metrics.registry

    def count(code: str) -> float | None:
        labels = {"verb": "get", "resource": "pods", "subresource": "", "code": code}
        return reg.get_sample_value("apiserver_request_total", labels)

    assert (count("200"), count("404")) == (3, 2)
    hist = {"verb": "get", "resource": "pods", "subresource": ""}
    assert reg.get_sample_value("apiserver_request_duration_seconds_count", hist) == 5
