"""Fixtures of the scheduling service tests: an in-memory apiserver, an InProcessClient, object
builders and a stand-in core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import pytest
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.client.inprocess import InProcessClient
from kubemu.store import Store

Obj = dict[str, Any]


def make_node(name: str, cpu: str = "4", memory: str = "32Gi", pods: str = "110") -> Obj:
    res = {"cpu": cpu, "memory": memory, "pods": pods}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"allocatable": dict(res), "capacity": dict(res)},
    }


def make_pod(
    name: str,
    namespace: str = "default",
    *,
    cpu: str = "100m",
    memory: str = "500Mi",
    priority: int | None = None,
    **spec: Any,
) -> Obj:
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [
                {
                    "name": "pause",
                    "image": "registry.k8s.io/pause:3.9",
                    "resources": {"requests": {"cpu": cpu, "memory": memory}},
                }
            ],
            **spec,
        },
    }
    if priority is not None:
        pod["spec"]["priority"] = priority
    return pod


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.01
) -> None:
    """Wait until ``check()`` is true (fails the test after ``timeout`` s)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


@dataclass
class Result:
    pod: str
    node: str | None
    status: str
    message: str | None = None
    feasible_nodes: int = 0
    evaluated_nodes: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)


class StandInCore:
    """A tiny core for tests: pods fit on nodes with the label ``fits=yes``, first one wins;
    records every call."""

    def __init__(self) -> None:
        self.nodes: dict[str, Obj] = {}
        self.pods: dict[str, str] = {}
        self.calls: list[tuple[str, Any]] = []

    def add_node(self, node: bytes) -> None:
        n = msgpack.unpackb(node)
        self.calls.append(("add_node", n["metadata"]["name"]))
        self.nodes[n["metadata"]["name"]] = n

    def update_node(self, node: bytes) -> None:
        self.add_node(node)

    def remove_node(self, name: str) -> bool:
        self.calls.append(("remove_node", name))
        return self.nodes.pop(name, None) is not None

    def add_pod(self, pod: bytes) -> None:
        p = msgpack.unpackb(pod)
        key = f"{p['metadata']['namespace']}/{p['metadata']['name']}"
        self.calls.append(("add_pod", key))
        self.pods[key] = p["spec"]["nodeName"]

    def remove_pod(self, namespace: str, name: str) -> bool:
        self.calls.append(("remove_pod", f"{namespace}/{name}"))
        return self.pods.pop(f"{namespace}/{name}", None) is not None

    def forget(self, namespace: str, name: str) -> bool:
        self.calls.append(("forget", f"{namespace}/{name}"))
        return self.pods.pop(f"{namespace}/{name}", None) is not None

    def schedule_batch(self, pods: Sequence[bytes]) -> list[Result]:
        out = []
        fits = [n for n, o in self.nodes.items() if o["metadata"].get("labels", {}).get("fits")]
        for data in pods:
            p = msgpack.unpackb(data)
            key = f"{p['metadata']['namespace']}/{p['metadata']['name']}"
            if fits:
                self.pods[key] = fits[0]
                out.append(Result(key, fits[0], "scheduled", None, len(fits), len(self.nodes)))
            else:
                n = len(self.nodes)
                msg = f"0/{n} nodes are available: {n} node(s) didn't fit."
                out.append(Result(key, None, "unschedulable", msg, 0, n, {"didn't fit": n}))
        return out


@pytest.fixture
async def api() -> AsyncIterator[APIServer]:
    server = APIServer(EmbeddedStorage(Store(fsync=False)), bookmark_interval=0.05)
    yield server
    await server.close()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)
