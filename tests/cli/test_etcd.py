"""``kubemu etcd``: a durable store served to real etcdctl, stopped by a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kubemu.bench.real_etcd import free_port
from kubemu.cli.etcd import parse_listen_url, parse_retention

from tests.etcd.conftest import Etcdctl


def start(data: Path | None, port: int, *flags: str) -> subprocess.Popen[str]:
    where = ["--data-dir", str(data)] if data else ["--in-memory"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubemu.cli.main",
            "etcd",
            *where,
            "--listen-client-urls",
            f"http://127.0.0.1:{port}",
            *flags,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert "serving on" in proc.stdout.readline()
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_serves_durably_and_restores_snapshots(tmp_path: Path) -> None:
    port = free_port()
    ctl = Etcdctl(f"127.0.0.1:{port}")
    proc = start(tmp_path / "data", port)
    try:
        ctl.run("put", "/registry/pods/default/a", "v1")
        ctl.run("snapshot", "save", str(tmp_path / "snap.db"))
    finally:
        stop(proc)
    proc = start(tmp_path / "data", port)
    try:
        assert ctl.run("get", "/registry/pods/default/a", "--print-value-only").strip() == "v1"
    finally:
        stop(proc)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubemu.cli.main",
            "etcd",
            "snapshot",
            "restore",
            str(tmp_path / "snap.db"),
            "--data-dir",
            str(tmp_path / "restored"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert out.returncode == 0, out.stderr
    proc = start(tmp_path / "restored", port)
    try:
        assert ctl.run("get", "/registry/pods/default/a", "--print-value-only").strip() == "v1"
    finally:
        stop(proc)


def test_request_limits_flags_as_etcd() -> None:
    port = free_port()
    ctl = Etcdctl(f"127.0.0.1:{port}")
    proc = start(None, port, "--max-txn-ops", "2", "--max-request-bytes", "2048")
    try:
        txn = "\n\nput a 1\nput b 2\nput c 3\n\n"
        assert "too many operations in txn request" in ctl.run("txn", input=txn, check=False)
        assert "SUCCESS" in ctl.run("txn", input="\n\nput a 1\nput b 2\n\n")
        assert "request is too large" in ctl.run("put", "big", "x" * 4096, check=False)
    finally:
        stop(proc)


def test_default_data_dir_is_name_dot_etcd(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubemu.cli.main",
            "etcd",
            "--name",
            "infra0",
            "--listen-client-urls",
            f"http://127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    assert "data dir: infra0.etcd" in proc.stdout.readline()
    try:
        Etcdctl(f"127.0.0.1:{port}").run("put", "k", "v")
    finally:
        stop(proc)
    assert any((tmp_path / "infra0.etcd").iterdir())


def test_flag_parsing() -> None:
    assert parse_listen_url("http://127.0.0.1:2379") == ("127.0.0.1", 2379)
    assert parse_listen_url("http://0.0.0.0:12379,http://other:1") == ("0.0.0.0", 12379)
    with pytest.raises(ValueError):
        parse_listen_url("https://127.0.0.1:2379")
    assert parse_retention("periodic", "1h") == 3600
    assert parse_retention("periodic", "30m") == 1800
    assert parse_retention("periodic", "2") == 7200
    assert parse_retention("revision", "1000") == 1000


def test_auto_compaction_modes() -> None:
    import time

    from kubemu.cli.etcd import AutoCompactor
    from kubemu.store import Store

    with Store() as s:
        s.put_many([(b"k", b"%d" % i) for i in range(50)])
        by_rev = AutoCompactor(s, "revision", 10, interval=0.05)
        by_rev.start()
        deadline = time.monotonic() + 10
        while s.compact_revision == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        by_rev.stopped.set()
        assert s.compact_revision == s.revision - 10
    with Store() as s:
        periodic = AutoCompactor(s, "periodic", 0.3)
        periodic.start()
        deadline = time.monotonic() + 10
        while s.compact_revision == 0 and time.monotonic() < deadline:
            s.put(b"k", b"v")
            time.sleep(0.02)
        periodic.stopped.set()
        assert 0 < s.compact_revision < s.revision
