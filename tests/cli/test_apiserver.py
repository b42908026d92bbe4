"""``kubemu apiserver`` as a process: health and metrics endpoints, a durable data dir, bearer
tokens, and a clean exit on SIGTERM."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from tests.cli.conftest import ApiServer, kubemu, start_apiserver


def test_health_endpoints_and_banner(apiserver: ApiServer) -> None:
    assert f"serving on {apiserver.address}" in apiserver.banner
    assert "data dir: memory" in apiserver.banner
    for path in ("/healthz", "/readyz", "/livez"):
        assert apiserver.http_get(path) == (200, "ok")


def test_metrics_count_requests_by_verb_resource_and_code(
    apiserver: ApiServer, manifest: Path
) -> None:
    assert apiserver.kubemu("apply", "-f", str(manifest)).returncode == 0
    assert apiserver.kubemu("get", "pods", "nope").returncode == 1
    status, text = apiserver.http_get("/metrics")
    assert status == 200

    def count(verb: str, resource: str, code: str) -> float:
        pattern = r"^apiserver_request_total\{([^}]*)\} (\S+)$"  # labels in any order
        total = 0.0
        for labels, value in re.findall(pattern, text, re.MULTILINE):
            found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            if (found.get("verb"), found.get("resource"), found.get("code")) == (
                verb,
                resource,
                code,
            ):
                total += float(value)
        return total

    assert count("create", "pods", "201") >= 1
    assert count("create", "deployments", "201") >= 1
    assert count("get", "pods", "404") >= 2  # apply's lookup of db, then "get pods nope"
    assert "apiserver_request_duration_seconds_bucket" in text
    assert "apiserver_current_inflight_requests" in text


def test_sigterm_stops_with_exit_code_zero() -> None:
    server = start_apiserver()
    assert server.http_get("/healthz") == (200, "ok")
    assert server.stop() == 0


def test_data_dir_survives_a_restart(tmp_path: Path, manifest: Path) -> None:
    data = tmp_path / "data"
    server = start_apiserver(data_dir=data)
    try:
        assert f"data dir: {data}" in server.banner
        assert server.kubemu("apply", "-f", str(manifest)).returncode == 0
    finally:
        assert server.stop() == 0
    server = start_apiserver(data_dir=data)
    try:
        out = server.kubemu("get", "configmap", "settings", "-n", "shop", "-o", "name")
        assert (out.returncode, out.stdout) == (0, "configmap/settings\n")
        again = server.kubemu("apply", "-f", str(manifest))
        assert "pod/db unchanged" in again.stdout.splitlines()
    finally:
        assert server.stop() == 0


def test_bearer_tokens(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('s3cret,alice,uid-1,"dev,ops"\n')
    server = start_apiserver("--token-auth-file", str(tokens))
    try:
        unauthorized = "error: You must be logged in to the server (Unauthorized)\n"
        for token in (None, "wrong"):
            out = server.kubemu("get", "namespaces", token=token)
            assert (out.returncode, out.stdout, out.stderr) == (1, "", unauthorized)
        out = server.kubemu("get", "namespaces", "-o", "name", token="s3cret")
        assert out.returncode == 0, out.stderr
        assert "namespace/default" in out.stdout.splitlines()
    finally:
        assert server.stop() == 0


def test_nobody_listening() -> None:
    out = kubemu("get", "pods", "--server", "127.0.0.1:1")
    assert out.returncode == 1
    assert out.stderr == (
        "The connection to the server 127.0.0.1:1 was refused - "
        "did you specify the right host or port?\n"
    )


def test_port_in_use_is_an_error_not_a_traceback() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        for flags in (
            ["--address", address, "--metrics-address", "127.0.0.1:0"],
            ["--address", "127.0.0.1:0", "--metrics-address", address],
        ):
            out = kubemu("apiserver", *flags)
            assert out.returncode == 1
            assert out.stdout == ""
            assert out.stderr.splitlines()[-1].startswith("error: ")
            assert "Traceback" not in out.stderr
