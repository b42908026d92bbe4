"""Fixtures of the etcd endpoint tests: a store served over gRPC, and real etcdctl."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubemu._core import EtcdServer
from kubemu.store import Store

ETCDCTL = shutil.which("etcdctl")


@dataclass
class Etcdctl:
    """Runs the real etcdctl (Debian's etcd-client) against one endpoint."""

    endpoint: str

    def run(self, *args: str, input: str | None = None, check: bool = True) -> str:
        assert ETCDCTL, "etcdctl is not installed (apt-get install etcd-client)"
        proc = subprocess.run(
            [ETCDCTL, f"--endpoints={self.endpoint}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "ETCDCTL_API": "3"},
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"etcdctl {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout if check else proc.stdout + proc.stderr

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-w", "json"))


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(manual_clock=True) as s:
        yield s


@pytest.fixture
def etcdctl(store: Store) -> Iterator[Etcdctl]:
    server = EtcdServer(store, "127.0.0.1", 0)
    try:
        yield Etcdctl(server.address)
    finally:
        server.stop()
