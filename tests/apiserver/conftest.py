"""Fixtures: an in-memory store, an APIServer over it, an InProcessClient."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.client.inprocess import InProcessClient
from kubemu.store import Store

Obj = dict[str, Any]

POD: Obj = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
}

DEPLOYMENT: Obj = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    },
}


def pod(name: str = "web", namespace: str = "default", **spec: Any) -> Obj:
    p = copy.deepcopy(POD)
    p["metadata"]["name"] = name
    p["metadata"]["namespace"] = namespace
    p["spec"].update(spec)
    return p


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def node(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


@pytest.fixture
def store() -> Store:
    return Store(fsync=False)


@pytest.fixture
async def api(store: Store) -> AsyncIterator[APIServer]:
    server = APIServer(EmbeddedStorage(store), bookmark_interval=0.05)
    yield server
    await server.close()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)
