"""``kubemu apply``: create, then unchanged / configured, from files, directories and stdin."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import MANIFEST, ApiServer

CREATED = [
    "namespace/shop created",
    "deployment.apps/web created",
    "pod/db created",
    "service/web created",
    "configmap/settings created",
]


def test_create_then_unchanged_then_configured(apiserver: ApiServer, tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(MANIFEST)
    out = apiserver.kubemu("apply", "-f", str(path))
    assert (out.returncode, out.stdout.splitlines(), out.stderr) == (0, CREATED, "")
    out = apiserver.kubemu("apply", "-f", str(path))
    assert out.returncode == 0
    assert out.stdout.splitlines() == [line.replace("created", "unchanged") for line in CREATED]

    path.write_text(
        MANIFEST.replace("mode: fast", "mode: slow").replace("replicas: 2", "replicas: 3")
    )
    out = apiserver.kubemu("apply", "-f", str(path))
    assert out.returncode == 0
    assert out.stdout.splitlines() == [
        "namespace/shop unchanged",
        "deployment.apps/web configured",
        "pod/db unchanged",
        "service/web unchanged",
        "configmap/settings configured",
    ]
    cm = json.loads(apiserver.kubemu("get", "cm", "settings", "-n", "shop", "-o", "json").stdout)
    assert cm["data"] == {"mode": "slow"}
    deploy = json.loads(apiserver.kubemu("get", "deploy", "web", "-n", "shop", "-o", "json").stdout)
    assert (deploy["spec"]["replicas"], deploy["metadata"]["generation"]) == (3, 2)
    assert "kubectl.kubernetes.io/last-applied-configuration" in deploy["metadata"]["annotations"]


def test_fields_dropped_from_the_file_are_removed(apiserver: ApiServer, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\ndata: {a: '1', b: '2'}\n"
    )
    assert apiserver.kubemu("apply", "-f", str(path)).stdout == "configmap/two created\n"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\ndata: {a: '1'}\n")
    assert apiserver.kubemu("apply", "-f", str(path)).stdout == "configmap/two configured\n"
    cm = json.loads(apiserver.kubemu("get", "cm", "two", "-o", "json").stdout)
    assert cm["metadata"]["namespace"] == "default"
    assert cm["data"] == {"a": "1"}


def test_stdin_json_list_and_directory(apiserver: ApiServer, tmp_path: Path) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-stdin"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"},
        ],
    }
    out = apiserver.kubemu("apply", "-f", "-", "-n", "kube-public", stdin=json.dumps(doc))
    assert (out.returncode, out.stdout) == (0, "configmap/from-stdin created\nsecret/s created\n")
    got = apiserver.kubemu("get", "cm", "from-stdin", "-n", "kube-public", "-o", "name")
    assert got.stdout == "configmap/from-stdin\n"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d-a}\n"
    )
    (tmp_path / "d" / "b.json").write_text(
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d-b"}}'
    )
    (tmp_path / "d" / "notes.txt").write_text("not a manifest")
    out = apiserver.kubemu("apply", "-f", str(tmp_path / "d"))
    assert (out.returncode, out.stdout) == (0, "configmap/d-a created\nconfigmap/d-b created\n")


def test_errors(apiserver: ApiServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n"
    )
    out = apiserver.kubemu("apply", "-f", str(bad))
    assert out.returncode == 1
    assert out.stdout == "configmap/fine created\n"  # the other documents still apply
    assert out.stderr.startswith(
        'Error from server (Invalid): ConfigMap "Bad_Name" is invalid: '
        "metadata.name: Invalid value:"
    )
    missing = apiserver.kubemu("apply", "-f", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    out = apiserver.kubemu("apply", "-f", str(unknown))
    assert out.returncode == 1
    assert out.stderr.startswith(
        f'error: resource mapping not found for name: "w" from "{unknown}"'
    )
