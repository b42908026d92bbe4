"""The hand-written stub python/kubemu/_core.pyi matches the compiled module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stub_matches_module() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "kubemu._core",
            "--allowlist",
            str(ROOT / ".mypy-stubtest-allowlist"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
