"""``kubemu apply -f FILE|DIR|-``: create objects, or update the ones that exist.

Documents are multi-document YAML or JSON (``kind: List`` is expanded). As ``kubectl apply``
does, the applied configuration is kept in the ``kubectl.kubernetes.io/last-applied-configuration``
annotation: an object whose annotation equals the new configuration is ``unchanged``; otherwise
the configuration is merged onto the live object (maps merged, lists replaced, fields dropped
since the last apply removed) and sent as an update at the live resourceVersion
(``configured``). There is no strategic (by-name) list merge yet.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubemu.cli.connection import add_connection_args, format_error, run_client_command
from kubemu.cli.output import object_name
from kubemu.objects.errors import Reason, StatusError
from kubemu.objects.registry import REGISTRY

if TYPE_CHECKING:
    from kubemu.client.grpc_client import GrpcClient

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SUFFIXES = (".yaml", ".yml", ".json")

Obj = dict[str, Any]


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = groups.add_parser("apply", help="create or update objects from files")
    p.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        help="file, directory (its .yaml/.yml/.json files) or - for stdin; repeatable",
    )
    p.add_argument("-n", "--namespace", default="", help="namespace for objects without one")
    add_connection_args(p)
    p.set_defaults(handler=run)


def _sources(name: str) -> Iterator[tuple[str, str]]:
    if name == "-":
        yield "-", sys.stdin.read()
        return
    path = Path(name)
    if path.is_dir():
        for f in sorted(path.iterdir()):
            if f.is_file() and f.suffix in _SUFFIXES:
                yield str(f), f.read_text()
    else:
        yield name, path.read_text()


def load_documents(text: str) -> list[Obj]:
    """The objects in a multi-document YAML/JSON text; ``List`` documents are expanded."""
    docs: list[Obj] = []
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValueError(f"expected an object, got {type(doc).__name__}")
        if doc.get("kind") == "List" or (
            str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list)
        ):
            docs.extend(i for i in doc.get("items") or [] if isinstance(i, dict))
        else:
            docs.append(doc)
    return docs


def merge(live: Any, applied: Any, last: Any) -> Any:
    """``applied`` onto ``live``: maps merged key by key, other values replaced, and keys that
    were in the last applied configuration but are gone from ``applied`` removed."""
    if not isinstance(live, dict) or not isinstance(applied, dict):
        return copy.deepcopy(applied)
    out = dict(live)
    last = last if isinstance(last, dict) else {}
    for key in last:
        if key not in applied:
            out.pop(key, None)
    for key, value in applied.items():
        out[key] = merge(live.get(key), value, last.get(key))
    return out


def _configuration(doc: Obj) -> str:
    doc = copy.deepcopy(doc)
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    if not annotations and "annotations" in (doc.get("metadata") or {}):
        del doc["metadata"]["annotations"]
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


async def apply_one(client: GrpcClient, doc: Obj, namespace: str) -> str:
    """Create or update ``doc``; returns ``created``, ``configured`` or ``unchanged``."""
    kind = REGISTRY.for_object(doc)
    meta = doc.setdefault("metadata", {})
    if kind.namespaced:
        meta["namespace"] = meta.get("namespace") or namespace or "default"
        ns = meta["namespace"]
    else:
        meta.pop("namespace", None)
        ns = ""
    config = _configuration(doc)
    desired = copy.deepcopy(doc)
    desired["metadata"].setdefault("annotations", {})[LAST_APPLIED] = config + "\n"
    try:
        live = await client.get(kind.group_resource, ns, meta.get("name", ""))
    except StatusError as e:
        if e.reason != Reason.NOT_FOUND:
            raise
        await client.create(kind.group_resource, ns, desired)
        return "created"
    last_text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if last_text is not None and last_text.strip() == config:
        return "unchanged"
    try:
        last = json.loads(last_text) if last_text else {}
    except ValueError:
        last = {}
    updated = merge(live, desired, last)
    updated.pop("status", None)
    updated["metadata"]["resourceVersion"] = live["metadata"].get("resourceVersion", "")
    if "status" in live:
        updated["status"] = live["status"]
    await client.update(kind.group_resource, ns, updated)
    return "configured"


def run(args: argparse.Namespace) -> int:
    docs: list[tuple[str, Obj]] = []
    try:
        for name in args.filename:
            for source, text in _sources(name):
                docs.extend((source, d) for d in load_documents(text))
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    async def body(client: GrpcClient) -> int:
        code = 0
        for source, doc in docs:
            try:
                kind = REGISTRY.for_object(doc)
            except KeyError as e:
                name = (doc.get("metadata") or {}).get("name", "")
                print(
                    f'error: resource mapping not found for name: "{name}" from "{source}": '
                    f"{e.args[0]}",
                    file=sys.stderr,
                )
                code = 1
                continue
            try:
                result = await apply_one(client, doc, args.namespace)
            except StatusError as e:
                if e.reason in (Reason.UNAUTHORIZED, Reason.SERVICE_UNAVAILABLE):
                    raise  # nothing else will get through either
                print(format_error(e), file=sys.stderr)
                code = 1
                continue
            print(f"{object_name(kind, doc)} {result}")
        return code

    return run_client_command(args, body)
