"""``kubemu get KIND [NAME] [-n NS | -A] [-l SELECTOR] [--field-selector ...] [-o FORMAT]``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kubemu.cli.connection import add_connection_args, run_client_command
from kubemu.cli.output import OUTPUT_FORMATS, render
from kubemu.client.interface import ListOptions
from kubemu.objects.registry import REGISTRY

if TYPE_CHECKING:
    from kubemu.client.grpc_client import GrpcClient


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = groups.add_parser("get", help="display one or many objects")
    p.add_argument("kind", help="resource kind: plural, singular or short name (pods, po, ...)")
    p.add_argument("names", nargs="*", metavar="NAME", help="object names (default: all)")
    p.add_argument("-n", "--namespace", default="", help="namespace (default: default)")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="list across all namespaces")
    p.add_argument("-l", "--selector", default="", help="label selector, e.g. app=web,tier!=db")
    p.add_argument("--field-selector", default="", help="field selector, e.g. spec.nodeName=n1")
    p.add_argument("-o", "--output", choices=OUTPUT_FORMATS, help="output format")
    add_connection_args(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        kind = REGISTRY.lookup(args.kind)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 1
    all_ns = bool(args.all_namespaces) and not args.names
    namespace = ""
    if kind.namespaced and not all_ns:
        namespace = args.namespace or "default"

    async def body(client: GrpcClient) -> int:
        if args.names:
            objs = [await client.get(kind.group_resource, namespace, n) for n in args.names]
        else:
            options = ListOptions(label_selector=args.selector, field_selector=args.field_selector)
            objs = (await client.list(kind.group_resource, namespace, options)).items
        if not objs and args.output not in ("json", "yaml"):
            where = f" in {namespace} namespace" if namespace else ""
            print(f"No resources found{where}.", file=sys.stderr)
            return 0
        single = len(args.names) == 1
        print(render(kind, objs, args.output, single=single, with_namespace=all_ns))
        return 0

    return run_client_command(args, body)
