"""The HTTP endpoint: Prometheus text on /metrics, ok on the health paths, errors otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kubemu.apiserver.http_server import HttpServer
from prometheus_client import CollectorRegistry, Counter


@pytest.fixture
async def http() -> AsyncIterator[tuple[HttpServer, Counter]]:
    registry = CollectorRegistry()
    counter = Counter("apiserver_request_total", "requests", ["verb", "code"], registry=registry)
    server = HttpServer(registry, "127.0.0.1:0")
    await server.start()
    try:
        yield server, counter
    finally:
        await server.stop()


async def request(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


async def get(port: int, path: str) -> tuple[int, bytes]:
    data = await request(
        port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def test_metrics_and_health(http: tuple[HttpServer, Counter]) -> None:
    server, counter = http
    counter.labels("get", "200").inc(3)
    status, body = await get(server.port, "/metrics")
    assert status == 200
    assert b'apiserver_request_total{code="200",verb="get"} 3.0' in body
    for path in ("/healthz", "/readyz", "/livez", "/healthz?verbose"):
        assert await get(server.port, path) == (200, b"ok")
    assert (await get(server.port, "/nope"))[0] == 404


async def test_keep_alive_and_bad_requests(http: tuple[HttpServer, Counter]) -> None:
    server, _ = http
    data = await request(
        server.port,
        b"GET /healthz HTTP/1.1\r\n\r\nHEAD /livez HTTP/1.1\r\n\r\n"
        b"GET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.endswith(b"ok") and data.count(b"\r\n\r\nok") == 2  # HEAD has no body
    assert (await request(server.port, b"garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
    assert (await request(server.port, b"POST /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
            ).startswith(b"HTTP/1.1 405")  # fmt: skip
    assert await get(server.port, "/healthz") == (200, b"ok")
