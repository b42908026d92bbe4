"""The apiserver's HTTP endpoint: ``/metrics`` (Prometheus text format from the apiserver's
registry), ``/healthz``, ``/readyz`` and ``/livez`` (``ok``).

A small asyncio HTTP/1.1 server (keep-alive, GET and HEAD), so the apiserver needs no web
framework. Anything else is answered 404/405/400; a malformed or slow client only costs its own
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["HttpServer"]

_MAX_HEADER_BYTES = 16 * 1024
_READ_TIMEOUT = 30.0
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


class HttpServer:
    """Serves ``/metrics`` from ``registry`` and the health endpoints on ``host:port``
    (port 0 picks a free one; :attr:`port` is the bound port after ``start()``).
    ``ready`` is asked by ``/readyz`` (default: always ready)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        address: str = "127.0.0.1:7444",
        *,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self.registry = registry
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        self._ready = ready or (lambda: True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await self._server.wait_closed()
            self._server = None

    def _route(self, path: str) -> tuple[int, bytes, str]:
        path = path.split("?", 1)[0]
        if path == "/metrics":
            return 200, generate_latest(self.registry), CONTENT_TYPE_LATEST
        if path in ("/healthz", "/livez"):
            return 200, b"ok", "text/plain; charset=utf-8"
        if path == "/readyz":
            if self._ready():
                return 200, b"ok", "text/plain; charset=utf-8"
            return 503, b"not ready", "text/plain; charset=utf-8"
        return 404, b"404 page not found\n", "text/plain; charset=utf-8"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                if len(head) > _MAX_HEADER_BYTES:
                    await self._respond(writer, 400, b"", "text/plain", "HTTP/1.1", close=True)
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                    await self._respond(writer, 400, b"", "text/plain", "HTTP/1.1", close=True)
                    return
                method, path, version = parts
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip().lower()
                if headers.get("content-length", "0") not in ("", "0"):
                    await self._respond(writer, 400, b"", "text/plain", version, close=True)
                    return
                close = headers.get("connection") == "close" or version == "HTTP/1.0"
                if method not in ("GET", "HEAD"):
                    status, body, ctype = 405, b"method not allowed\n", "text/plain"
                else:
                    status, body, ctype = self._route(path)
                await self._respond(
                    writer, status, body, ctype, version, close=close, head=method == "HEAD"
                )
                if close:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        ctype: str,
        version: str,
        *,
        close: bool,
        head: bool = False,
    ) -> None:
        reason = _REASONS.get(status, "Service Unavailable" if status == 503 else "")
        lines = [
            f"{version if version in ('HTTP/1.0', 'HTTP/1.1') else 'HTTP/1.1'} {status} {reason}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
            "Connection: close" if close else "Connection: keep-alive",
            "",
            "",
        ]
        writer.write("\r\n".join(lines).encode("latin-1") + (b"" if head else body))
        await writer.drain()
