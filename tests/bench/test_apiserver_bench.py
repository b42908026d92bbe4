"""Behaviour check of kubemu.bench.apiserver_bench's command line at a tiny size (not a timing
check): each mode prints a JSON line per benchmark and the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubemu.bench import apiserver_bench as ab


@pytest.mark.parametrize("modes", ["inprocess", "grpc"])
def test_main_quick_prints_json_lines(
    modes: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    assert ab.main(["--quick", "--runs", "1", "--modes", modes, "--json", str(out)]) == 0
    captured = capsys.readouterr()
    docs = [json.loads(line) for line in captured.out.splitlines()]
    names = {d["bench"] for d in docs}
    suffixes = (
        "create_many",
        "bind_many",
        "get_c1",
        "update_c8",
        "watch",
        "list_raw",
        "renew_leases",
    )
    for suffix in suffixes:
        assert f"{modes}_{suffix}" in names
    assert all(d["median"] > 0 for d in docs)
    assert "p99_ms" in next(d for d in docs if d["bench"] == f"{modes}_create_c1")
    assert len(out.read_text().splitlines()) == len(docs)
    assert "apiserver benchmark" in captured.err
