"""How commands reach an apiserver: ``--server`` / ``--token``, running a command's coroutine,
and printing API errors as kubectl does.

``--server HOST:PORT`` (or ``unix:/path``) defaults to ``$KUBEMU_SERVER``, then
``127.0.0.1:7443`` (the apiserver's default gRPC port; its HTTP port for /metrics and health is
7444). ``--token`` defaults to ``$KUBEMU_TOKEN``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from kubemu.api import DEFAULT_GRPC_PORT
from kubemu.objects.errors import Reason, StatusError

if TYPE_CHECKING:
    from kubemu.client.grpc_client import GrpcClient

__all__ = [
    "DEFAULT_SERVER",
    "add_connection_args",
    "connect",
    "format_error",
    "run_client_command",
    "run_loop",
    "server_address",
]

DEFAULT_SERVER = f"127.0.0.1:{DEFAULT_GRPC_PORT}"

T = TypeVar("T")


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        "-s",
        help=f"the apiserver's gRPC address HOST:PORT or unix:PATH "
        f"(default: $KUBEMU_SERVER, else {DEFAULT_SERVER})",
    )
    parser.add_argument("--token", help="bearer token (default: $KUBEMU_TOKEN)")


def server_address(args: argparse.Namespace) -> str:
    return str(args.server or os.environ.get("KUBEMU_SERVER") or DEFAULT_SERVER)


def token(args: argparse.Namespace) -> str | None:
    value = args.token or os.environ.get("KUBEMU_TOKEN")
    return str(value) if value else None


def connect(args: argparse.Namespace) -> GrpcClient:
    from kubemu.client.grpc_client import GrpcClient

    return GrpcClient(server_address(args), token(args))


def format_error(e: StatusError, server: str = "") -> str:
    """kubectl's text for a failed request: ``Error from server (NotFound): pods "x" not found``;
    ``error: You must be logged in to the server (Unauthorized)`` for a missing or bad token;
    kubectl's "connection ... refused" line when nobody listens at ``server``."""
    if e.reason == Reason.UNAUTHORIZED:
        return f"error: You must be logged in to the server ({e.message or 'Unauthorized'})"
    if e.reason == Reason.SERVICE_UNAVAILABLE and "connection refused" in e.message.lower():
        where = f" {server}" if server else ""
        return (
            f"The connection to the server{where} was refused - "
            "did you specify the right host or port?"
        )
    if e.reason.value:
        return f"Error from server ({e.reason.value}): {e.message}"
    return f"Error from server: {e.message}"


def run_loop(coro: Awaitable[T]) -> T:
    """Run ``coro`` on uvloop when available."""

    async def main() -> T:
        return await coro

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main())


def run_client_command(
    args: argparse.Namespace, body: Callable[[GrpcClient], Awaitable[int]]
) -> int:
    """Connect, run ``body(client)``, close; API errors print as kubectl's and exit 1."""

    async def main() -> int:
        client = connect(args)
        try:
            return await body(client)
        finally:
            await client.close()

    try:
        return run_loop(main())
    except StatusError as e:
        print(format_error(e, server_address(args)), file=sys.stderr)
        return 1
