"""The kubemu command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kubemu import __version__
from kubemu.cli.main import main
from kubemu.store import Store


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"kubemu {__version__}"


def test_store_status_and_snapshot_roundtrip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with Store(data) as s:
        s.put_many([(b"k%d" % i, b"v") for i in range(10)])
    assert main(["store", "status", "--data-dir", str(data)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["revision"], status["keys"], status["alarms"]) == (11, 10, [])
    backup = tmp_path / "b.db"
    assert main(["store", "snapshot", "save", str(backup), "--data-dir", str(data)]) == 0
    assert (
        main(["store", "snapshot", "restore", str(backup), "--data-dir", str(tmp_path / "r")]) == 0
    )
    with Store(tmp_path / "r") as s:
        assert s.revision == 11


def test_errors_are_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a snapshot")
    code = main(
        [
            "store",
            "snapshot",
            "restore",
            str(tmp_path / "bad.db"),
            "--data-dir",
            str(tmp_path / "x"),
        ]
    )
    assert code == 1
    assert "Error:" in capsys.readouterr().err


def test_console_script_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kubemu.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "bench" in out.stdout and "store" in out.stdout
