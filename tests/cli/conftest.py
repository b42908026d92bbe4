"""Helpers for end-to-end CLI tests: a ``kubemu apiserver`` subprocess on free ports and the
``kubemu`` command run against it with ``--server``."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubemu.bench.real_etcd import free_port

KUBEMU = [sys.executable, "-m", "kubemu.cli.main"]

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.25", ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: shop
  labels: {app: db, tier: data}
spec:
  containers: [{name: pg, image: "postgres:16"}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data: {mode: fast}
"""


@dataclass
class ApiServer:
    """A running ``kubemu apiserver``: ``address`` (gRPC) and ``metrics`` (HTTP base URL)."""

    proc: subprocess.Popen[str]
    address: str
    metrics: str
    banner: str

    def kubemu(
        self, *args: str, token: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``kubemu ARGS --server ADDRESS [--token TOKEN]``, output captured."""
        extra = ["--server", self.address] + (["--token", token] if token else [])
        return kubemu(*args, *extra, stdin=stdin)

    def http_get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(self.metrics + path, timeout=30) as r:
            return int(r.status), r.read().decode()

    def stop(self) -> int:
        """SIGTERM; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def kubemu(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KUBEMU, *args], input=stdin, capture_output=True, text=True, timeout=60)


def start_apiserver(*flags: str, data_dir: Path | None = None) -> ApiServer:
    """Starts ``kubemu apiserver`` on free ports and waits for its banner."""
    port, metrics_port = free_port(), free_port()
    where = ["--data-dir", str(data_dir)] if data_dir is not None else []
    proc = subprocess.Popen(
        [
            *KUBEMU,
            "apiserver",
            "--address",
            f"127.0.0.1:{port}",
            "--metrics-address",
            f"127.0.0.1:{metrics_port}",
            *where,
            *flags,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    if "serving on" not in banner:
        proc.kill()
        proc.wait()
        raise AssertionError(f"apiserver did not start: {banner!r}")
    return ApiServer(proc, f"127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}", banner)


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ApiServer]:
    """One in-memory apiserver per test module."""
    server = start_apiserver()
    try:
        yield server
    finally:
        assert server.stop() == 0


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("manifests") / "shop.yaml"
    path.write_text(MANIFEST)
    return path
