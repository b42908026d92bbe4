"""``kubemu delete KIND NAME... [-n NS] [--grace-period N]``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kubemu.cli.connection import add_connection_args, run_client_command
from kubemu.client.interface import DeleteOptions
from kubemu.objects.registry import REGISTRY

if TYPE_CHECKING:
    from kubemu.client.grpc_client import GrpcClient


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = groups.add_parser("delete", help="delete objects by kind and name")
    p.add_argument("kind", help="resource kind: plural, singular or short name")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("-n", "--namespace", default="", help="namespace (default: default)")
    p.add_argument(
        "--grace-period",
        type=int,
        default=-1,
        help="seconds the object has to terminate (-1: the object's own; 0: immediately)",
    )
    add_connection_args(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        kind = REGISTRY.lookup(args.kind)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 1
    namespace = (args.namespace or "default") if kind.namespaced else ""
    options = DeleteOptions(
        grace_period_seconds=args.grace_period if args.grace_period >= 0 else None
    )
    shown = f"{kind.singular}.{kind.group}" if kind.group else kind.singular

    async def body(client: GrpcClient) -> int:
        for name in args.names:
            await client.delete(kind.group_resource, namespace, name, options)
            print(f'{shown} "{name}" deleted')
        return 0

    return run_client_command(args, body)
