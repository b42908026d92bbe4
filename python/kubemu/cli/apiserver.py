"""``kubemu apiserver``: the embedded store, the apiserver core, its gRPC API and its HTTP
endpoint (/metrics, /healthz, /readyz, /livez), on uvloop until SIGINT/SIGTERM.

Defaults: gRPC on 127.0.0.1:7443, HTTP on 127.0.0.1:7444, the store in memory unless
``--data-dir`` is given. Anonymous requests are allowed unless a ``--token-auth-file`` is given
(then only with ``--anonymous-auth``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from kubemu.api import DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT
from kubemu.cli.connection import run_loop
from kubemu.gcpause import tune_for_server


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = groups.add_parser("apiserver", help="run the apiserver with the embedded store")
    p.add_argument(
        "--address",
        default=f"127.0.0.1:{DEFAULT_GRPC_PORT}",
        help="gRPC listen address HOST:PORT or unix:PATH (default: %(default)s)",
    )
    p.add_argument(
        "--metrics-address",
        default=f"127.0.0.1:{DEFAULT_HTTP_PORT}",
        help="HTTP address for /metrics, /healthz, /readyz, /livez (default: %(default)s)",
    )
    p.add_argument("--data-dir", default=None, help="durable store here (default: in memory)")
    p.add_argument(
        "--token-auth-file", default=None, help='CSV of token,user,uid[,"group1,group2"]'
    )
    p.add_argument(
        "--anonymous-auth",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve requests without a token as system:anonymous "
        "(default: on without --token-auth-file, off with it)",
    )
    p.set_defaults(handler=run)


GC_GEN0_THRESHOLD = 50_000
"""Allocations between young-generation collections in a serving process (CPython's default
700 makes a burst of requests, each building many short-lived dicts, collect constantly)."""


def tune_gc() -> None:
    """For a long-running server, once it has started: the startup heap promoted to the oldest
    generation and the young generation collected less often (``kubemu.gcpause``'s policy)."""
    tune_for_server(GC_GEN0_THRESHOLD)


def build_apiserver(args: argparse.Namespace, store: Any) -> Any:
    """The core over ``store`` with the authentication the flags ask for."""
    from kubemu.apiserver.auth import Authenticator, StaticTokenAuthenticator
    from kubemu.apiserver.handlers import APIServer
    from kubemu.apiserver.storage import EmbeddedStorage

    token_auths = []
    if args.token_auth_file:
        token_auths.append(StaticTokenAuthenticator.from_file(args.token_auth_file))
    anonymous = args.anonymous_auth if args.anonymous_auth is not None else not token_auths
    authenticator = Authenticator(token_auths, anonymous=anonymous)
    return APIServer(EmbeddedStorage(store), authenticator=authenticator)


async def serve(args: argparse.Namespace) -> int:
    from kubemu.apiserver.grpc_server import GrpcServer
    from kubemu.apiserver.http_server import HttpServer
    from kubemu.store import Store

    store = Store(args.data_dir) if args.data_dir else Store()
    api = None
    grpc_server = http_server = None
    try:
        api = build_apiserver(args, store)
        grpc_server = GrpcServer(api, args.address)
        await grpc_server.start()
        http_server = HttpServer(api.metrics.registry, args.metrics_address)
        await http_server.start()
        tune_gc()
        # Handlers before the banner: whoever waits for it may signal right away.
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        print(
            f"kubemu apiserver serving on {grpc_server.target} "
            f"(metrics on http://{http_server.host}:{http_server.port}/metrics; "
            f"data dir: {args.data_dir or 'memory'})",
            flush=True,
        )
        await done.wait()
    finally:
        # Also on a failed start (a port in use): nothing is left for the closed loop.
        if http_server is not None:
            await http_server.stop()
        if grpc_server is not None:
            await grpc_server.stop(1.0)
        if api is not None:
            await api.close()
        store.close()
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return run_loop(serve(args))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
