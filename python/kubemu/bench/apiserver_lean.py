"""The lean client of ``kubemu bench apiserver --clients lean``: ``kubemu-apiserver-bench``
(rust/kubemu-apiserver-bench), a tonic load generator that sends the benchmark's single-object
requests the way :class:`~kubemu.client.grpc_client.GrpcClient` does (the multiplexed ``Call``
stream), so the server does the same work while the client costs little: it shows what the
server sustains when a Python client process does not share its cores.

Built on demand (``cargo build --release -p kubemu-apiserver-bench``; not a default member of
the workspace), as ``kubemu bench etcd``'s load generator.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from kubemu.apiserver import codec

REPO = Path(__file__).resolve().parents[3]
LOADGEN = REPO / "target" / "release" / "kubemu-apiserver-bench"


def build_lean_client() -> Path:
    """Build the load generator (release) and return its path. RuntimeError outside a source
    checkout; CalledProcessError if cargo fails."""
    if not (REPO / "rust" / "kubemu-apiserver-bench").is_dir():
        raise RuntimeError("the lean client builds from a source checkout (rust/ not found)")
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "kubemu-apiserver-bench"],
        cwd=REPO,
        check=True,
    )
    return LOADGEN


async def run_lean_single(
    binary: Path,
    *,
    target: str,
    token: str,
    verb: str,
    concurrency: int,
    seconds: float,
    namespace: str,
    pod: dict[str, Any],
    tag: str,
    get_names: int,
) -> dict[str, Any]:
    """One single-object benchmark from the lean client in its own process: its JSON result
    (``rate``, ``requests``, ``p50_ms``, ``p99_ms``). RuntimeError with its stderr if it fails."""
    with tempfile.NamedTemporaryFile(suffix=".msgpack") as f:
        f.write(codec.encode(pod))
        f.flush()
        proc = await asyncio.create_subprocess_exec(
            str(binary),
            "--target", target,
            "--token", token,
            "--verb", verb,
            "--concurrency", str(concurrency),
            "--seconds", str(seconds),
            "--namespace", namespace,
            "--pod", f.name,
            "--tag", tag,
            "--get-names", str(get_names),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"kubemu-apiserver-bench {verb} failed: {err.decode().strip()}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result
