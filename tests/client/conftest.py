"""Fixtures: one APIServer on an in-memory store served over gRPC, and both clients of it
(``client`` runs a test once through each)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from kubemu.apiserver import APIServer, EmbeddedStorage
from kubemu.apiserver.auth import Authenticator, StaticTokenAuthenticator
from kubemu.apiserver.grpc_server import GrpcServer
from kubemu.apiserver.request import SYSTEM_ADMIN
from kubemu.client.grpc_client import GrpcClient
from kubemu.client.inprocess import InProcessClient
from kubemu.client.interface import Client
from kubemu.store import Store


@dataclass
class Backend:
    api: APIServer
    store: Store
    inprocess: InProcessClient
    grpc: GrpcClient


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    store = Store(fsync=False)
    # The gRPC client authenticates as the user the in-process client is.
    authenticator = Authenticator([StaticTokenAuthenticator({"admin-token": SYSTEM_ADMIN})])
    api = APIServer(EmbeddedStorage(store), authenticator=authenticator, bookmark_interval=0.05)
    server = GrpcServer(api, "127.0.0.1:0")
    await server.start()
    grpc_client = GrpcClient(server.target, token="admin-token")
    try:
        yield Backend(api, store, InProcessClient(api), grpc_client)
    finally:
        await grpc_client.close()
        await server.stop(None)
        await api.close()


@pytest.fixture(params=["inprocess", "grpc"])
def client(request: pytest.FixtureRequest, backend: Backend) -> Client:
    c: Client = getattr(backend, request.param)
    return c
