"""EventRecorder: Events about objects written in batches, repeats counted on one Event."""

from __future__ import annotations

from typing import Any

import pytest
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.client.events import EventRecorder, object_reference
from kubemu.client.inprocess import InProcessClient
from kubemu.store import Store


@pytest.fixture
async def client() -> Any:
    server = APIServer(EmbeddedStorage(Store()))
    c = InProcessClient(server)
    yield c
    await c.close()


def pod(name: str, uid: str = "u-1") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "uid": uid, "resourceVersion": "5"},
        "spec": {},
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_object_reference() -> None:
    ref = object_reference(pod("p"), kind="Pod", api_version="v1")
    assert ref == {
        "kind": "Pod",
        "namespace": "default",
        "name": "p",
        "uid": "u-1",
        "apiVersion": "v1",
        "resourceVersion": "5",
    }
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n", "uid": "x"}}
    assert "namespace" not in object_reference(node)


async def test_repeats_update_one_event(client: InProcessClient) -> None:
    clock = Clock()
    rec = EventRecorder(client, component="kubelet", host="node-1", clock=clock)
    rec.event(pod("p"), "Warning", "BackOff", "Back-off restarting failed container")
    await rec.flush()
    clock.now += 10
    rec.event(pod("p"), "Warning", "BackOff", "Back-off restarting failed container")
    clock.now += 10
    rec.event(pod("p"), "Warning", "BackOff", "Back-off restarting failed container")
    await rec.flush()
    [ev] = (await client.list("events", "default")).items
    assert ev["count"] == 3
    assert ev["source"] == {"component": "kubelet", "host": "node-1"}
    assert ev["firstTimestamp"] == "2023-11-14T22:13:20Z"
    assert ev["lastTimestamp"] == "2023-11-14T22:13:40Z"
    assert rec.events_written == 2  # one create, then one write-back of the newest count


async def test_created_once_with_final_count_within_one_flush(client: InProcessClient) -> None:
    rec = EventRecorder(client, component="c", clock=Clock())
    for _ in range(4):
        rec.event(pod("p"), "Normal", "Pulled", "image pulled")
    assert rec.pending == 1
    await rec.flush()
    [ev] = (await client.list("events", "default")).items
    assert ev["count"] == 4 and rec.events_written == 1


async def test_repeat_of_a_deleted_event_creates_it_again(client: InProcessClient) -> None:
    rec = EventRecorder(client, component="c", clock=Clock())
    rec.event(pod("p"), "Normal", "Started", "started")
    await rec.flush()
    [ev] = (await client.list("events", "default")).items
    await client.delete("events", "default", ev["metadata"]["name"])
    rec.event(pod("p"), "Normal", "Started", "started")
    await rec.flush()
    [again] = (await client.list("events", "default")).items
    assert again["metadata"]["name"] == ev["metadata"]["name"] and again["count"] == 2


async def test_cluster_scoped_objects_get_events_in_default(client: InProcessClient) -> None:
    rec = EventRecorder(client, component="c", clock=Clock())
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1", "uid": "x"}}
    rec.event(node, "Normal", "NodeReady", "Node n1 status is now: NodeReady")
    await rec.flush()
    [ev] = (await client.list("events", "default")).items
    assert ev["involvedObject"]["name"] == "n1" and "namespace" not in ev["involvedObject"]


async def test_spam_is_dropped_and_counted(client: InProcessClient) -> None:
    rec = EventRecorder(client, component="c", clock=Clock())
    for i in range(30):
        rec.event(pod("p"), "Warning", f"Reason{i}", "x")
    await rec.flush()
    assert rec.events_skipped == 5
    assert len((await client.list("events", "default")).items) == 25


async def test_background_task(client: InProcessClient) -> None:
    rec = EventRecorder(client, component="c")
    rec.start()
    rec.event(pod("p"), "Normal", "Scheduled", "assigned")
    await rec.stop()
    [ev] = (await client.list("events", "default")).items
    assert ev["reason"] == "Scheduled"
