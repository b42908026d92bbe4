"""Entry point of the ``kubemu`` command: builds the parser from the command
groups and dispatches to the chosen command's handler."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kubemu import __version__
from kubemu.cli import apiserver, apply, bench, delete, etcd, get, scheduler, store


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubemu",
        description="A Kubernetes cluster emulator with a Rust core.",
    )
    parser.add_argument("--version", action="version", version=f"kubemu {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    groups.required = True
    version = groups.add_parser("version", help="print the version")
    version.set_defaults(handler=lambda _args: print(f"kubemu {__version__}") or 0)
    apiserver.register(groups)
    apply.register(groups)
    bench.register(groups)
    delete.register(groups)
    etcd.register(groups)
    get.register(groups)
    scheduler.register(groups)
    store.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "accepts_rest", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
