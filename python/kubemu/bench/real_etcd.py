"""A real etcd (Debian's etcd-server) on loopback: the reference of the conformance tests and
the baseline of ``kubemu bench etcd``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

ETCD = shutil.which("etcd")
HEALTH = ("endpoint", "health")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tmpfs_dir() -> str | None:
    """/dev/shm when writable: etcd fsyncs every commit, a tmpfs keeps tests cheap."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


class RealEtcd:
    """One-member etcd in a temporary data dir (under ``data_parent``), on free ports."""

    def __init__(
        self,
        startup_timeout: float = 30.0,
        data_parent: str | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if not ETCD:
            raise RuntimeError("etcd is not installed (apt-get install etcd-server)")
        self._dir = tempfile.TemporaryDirectory(prefix="kubemu-etcd-", dir=data_parent)
        self._log = open(Path(self._dir.name) / "etcd.log", "wb")
        client, peer = free_port(), free_port()
        self.address = f"127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        client_url = f"http://{self.address}"
        self.proc = subprocess.Popen(
            [
                ETCD,
                "--name=conf",
                f"--data-dir={Path(self._dir.name) / 'data'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=conf={peer_url}",
                "--log-level=warn",
                *extra_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("ETCD")},
        )
        try:
            self._wait_healthy(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        etcdctl = shutil.which("etcdctl")
        if not etcdctl:
            raise RuntimeError("etcdctl is not installed (apt-get install etcd-client)")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.proc.returncode}:\n{self.log()}")
            probe = subprocess.run(
                [etcdctl, f"--endpoints={self.address}", "--command-timeout=2s", *HEALTH],
                capture_output=True,
                text=True,
                env={**os.environ, "ETCDCTL_API": "3"},
                timeout=10,
            )
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"etcd not healthy after {timeout}s:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        self._log.flush()
        return (Path(self._dir.name) / "etcd.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> RealEtcd:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
