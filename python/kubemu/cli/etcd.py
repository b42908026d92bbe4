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
    store = Store(args.data_dir, quota_bytes=args.quota_backend_bytes)
    server = EtcdServer(store, host, port, name=args.name)
    compactor = None
    if args.auto_compaction_retention not in ("", "0"):
        retention = parse_retention(args.auto_compaction_mode, args.auto_compaction_retention)
        compactor = AutoCompactor(store, args.auto_compaction_mode, retention)
        compactor.start()
    print(f"kubemu etcd serving on http://{server.address} (data dir: {args.data_dir or 'memory'})")
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
    etcd.add_argument("--data-dir", default=None, help="data dir (default: in memory)")
    etcd.add_argument("--listen-client-urls", default="http://127.0.0.1:2379")
    etcd.add_argument("--name", default="default")
    etcd.add_argument("--quota-backend-bytes", type=int, default=2 * 1024**3)
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
