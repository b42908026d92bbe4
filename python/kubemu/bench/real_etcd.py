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
from typing import Self

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


class ServerProcess:
    """A server subprocess with its own temporary dir (data and ``log_name`` log inside).

    Subclasses start ``self.proc`` writing to ``self._log``; ``stop()`` (or leaving the
    ``with`` block) terminates it, kills it after ``stop_timeout`` and removes the dir."""

    log_name = "server.log"
    stop_timeout = 10.0

    def __init__(self, data_parent: str | None, prefix: str) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix=prefix, dir=data_parent)
        self.dir = Path(self._dir.name)
        self._log = open(self.dir / self.log_name, "wb")
        self.proc: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        self._log.flush()
        return (self.dir / self.log_name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class RealEtcd(ServerProcess):
    """One-member etcd in a temporary data dir (under ``data_parent``), on free ports."""

    log_name = "etcd.log"

    def __init__(
        self,
        startup_timeout: float = 30.0,
        data_parent: str | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if not ETCD:
            raise RuntimeError("etcd is not installed (apt-get install etcd-server)")
        super().__init__(data_parent, "kubemu-etcd-")
        client, peer = free_port(), free_port()
        self.address = f"127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        client_url = f"http://{self.address}"
        self.proc = proc = subprocess.Popen(
            [
                ETCD,
                "--name=conf",
                f"--data-dir={self.dir / 'data'}",
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
            self._wait_healthy(proc, startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        etcdctl = shutil.which("etcdctl")
        if not etcdctl:
            raise RuntimeError("etcdctl is not installed (apt-get install etcd-client)")
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {proc.returncode}:\n{self.log()}")
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
