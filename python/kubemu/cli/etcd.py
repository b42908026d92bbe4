"""``kubemu etcd``: the store served over the etcd v3 API, flags as etcd's."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from kubemu._core import EtcdServer
from kubemu.cli.store import guarded, restore_command
from kubemu.store import Store, StoreError


def parse_listen_url(url: str) -> tuple[str, int]:
    """``http://host:port`` (etcd's --listen-client-urls; the first one is used)."""
    first = url.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"http://{first}")
    if parts.scheme not in ("http", "") or not parts.hostname:
        raise ValueError(f"unsupported listen url {url!r}: expected http://HOST:PORT")
    return parts.hostname, parts.port or 2379


def parse_retention(mode: str, value: str) -> float | int:
    """Seconds for periodic mode ("1h", "30m", "90s" or hours as a number); revisions otherwise."""
    if mode == "revision":
        return int(value)
    units = {"h": 3600, "m": 60, "s": 1}
    if value and value[-1] in units:
        return float(value[:-1]) * units[value[-1]]
    return float(value) * 3600


class AutoCompactor(threading.Thread):
    """etcd's auto-compaction: periodic (keep the last retention period of history) or
    revision (keep the last N revisions, checked every 5 minutes)."""

    def __init__(
        self, store: Store, mode: str, retention: float | int, interval: float | None = None
    ) -> None:
        super().__init__(name="kubemu-auto-compaction", daemon=True)
        self.store, self.mode, self.retention = store, mode, retention
        self.interval = interval or (300.0 if mode == "revision" else float(retention) / 10)
        self.stopped = threading.Event()

    def run(self) -> None:
        seen: list[tuple[float, int]] = []
        while not self.stopped.wait(self.interval):
            now, rev = time.monotonic(), self.store.revision
            if self.mode == "revision":
                target = rev - int(self.retention)
            else:
                seen.append((now, rev))
                old = [r for t, r in seen if now - t >= float(self.retention)]
                target = old[-1] if old else 0
                seen = [(t, r) for t, r in seen if now - t < float(self.retention)] + seen[-1:]
            if target > self.store.compact_revision:
                try:
                    self.store.compact(target)
                except StoreError as e:
                    print(f"auto-compaction to {target} failed: {e}", file=sys.stderr)


def _serve(args: argparse.Namespace) -> int:
    host, port = parse_listen_url(args.listen_client_urls)
    data_dir = None if args.in_memory else (args.data_dir or f"{args.name}.etcd")
    store = Store(
        data_dir,
        quota_bytes=args.quota_backend_bytes,
        max_request_bytes=args.max_request_bytes,
        max_txn_ops=args.max_txn_ops,
        fsync=not args.unsafe_no_fsync,
        commit_window=args.commit_window / 1000,
    )
    server = EtcdServer(store, host, port, name=args.name)
    compactor = None
    if args.auto_compaction_retention not in ("", "0"):
        retention = parse_retention(args.auto_compaction_mode, args.auto_compaction_retention)
        compactor = AutoCompactor(store, args.auto_compaction_mode, retention)
        compactor.start()
    print(f"kubemu etcd serving on http://{server.address} (data dir: {data_dir or 'memory'})")
    sys.stdout.flush()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    if compactor:
        compactor.stopped.set()
    server.stop()
    store.close()
    return 0


def register(groups: Any) -> None:
    etcd = groups.add_parser("etcd", help="serve a store over the etcd v3 gRPC API")
    etcd.add_argument("--data-dir", default=None, help="data dir (default: NAME.etcd, as etcd)")
    etcd.add_argument(
        "--in-memory", action="store_true", help="keep everything in memory (kubemu only)"
    )
    etcd.add_argument("--listen-client-urls", default="http://127.0.0.1:2379")
    etcd.add_argument("--name", default="default")
    etcd.add_argument("--quota-backend-bytes", type=int, default=2 * 1024**3)
    etcd.add_argument("--max-request-bytes", type=int, default=1536 * 1024)
    etcd.add_argument("--max-txn-ops", type=int, default=128)
    etcd.add_argument(
        "--unsafe-no-fsync", action="store_true", help="do not fsync the WAL (data may be lost)"
    )
    etcd.add_argument(
        "--commit-window",
        type=float,
        default=0.0,
        metavar="MS",
        help="group-commit window under load, in milliseconds (kubemu only; 0 disables)",
    )
    etcd.add_argument(
        "--auto-compaction-mode", choices=["periodic", "revision"], default="periodic"
    )
    etcd.add_argument("--auto-compaction-retention", default="0")
    etcd.set_defaults(handler=_serve)
    sub = etcd.add_subparsers(dest="etcd_cmd", metavar="SUBCOMMAND")
    snap = sub.add_parser("snapshot", help="snapshot files")
    snap_cmds = snap.add_subparsers(dest="snap_cmd", metavar="ACTION")
    snap_cmds.required = True
    rest = snap_cmds.add_parser("restore", help="restore a file from `etcdctl snapshot save`")
    rest.add_argument("file")
    rest.add_argument("--data-dir", required=True)
    rest.set_defaults(handler=guarded(restore_command))
