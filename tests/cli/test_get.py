"""``kubemu get``: kubectl's tables and -o json|yaml|name|wide, selectors, -A, and errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import ApiServer

NODE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: cache
  namespace: default
  labels: {app: cache}
spec:
  nodeName: node-1
  containers: [{name: redis, image: "redis:7"}, {name: sidecar, image: "busybox"}]
"""


@pytest.fixture(scope="module", autouse=True)
def objects(apiserver: ApiServer, manifest: Path) -> Iterator[None]:
    out = apiserver.kubemu("apply", "-f", str(manifest))
    assert out.returncode == 0, out.stderr
    out = apiserver.kubemu("apply", "-f", "-", stdin=NODE_POD)
    assert out.returncode == 0, out.stderr
    yield


def rows(text: str) -> list[list[str]]:
    """A table's cells (kubectl separates columns by runs of at least 3 spaces)."""
    return [re.split(r"\s{3,}", line.strip()) for line in text.splitlines()]


def without_age(table: list[list[str]], column: int) -> list[list[str]]:
    return [r[:column] + r[column + 1 :] for r in table]


def test_pod_tables(apiserver: ApiServer) -> None:
    out = apiserver.kubemu("get", "pods", "-n", "shop")
    assert out.returncode == 0, out.stderr
    table = rows(out.stdout)
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert without_age(table, 4)[1:] == [["db", "0/1", "Pending", "0"]]
    assert re.fullmatch(r"\d+s|\d+m\d*s?", table[1][4])

    wide = rows(apiserver.kubemu("get", "po", "-o", "wide").stdout)
    assert wide[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert without_age(wide, 4)[1:] == [["cache", "0/2", "Pending", "0", "<none>", "node-1"]]

    every = rows(apiserver.kubemu("get", "pods", "-A").stdout)
    assert every[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:2] for r in every[1:]] == [["default", "cache"], ["shop", "db"]]


def test_other_kind_tables(apiserver: ApiServer) -> None:
    deploy = rows(apiserver.kubemu("get", "deployments", "-n", "shop", "-o", "wide").stdout)
    assert deploy[0] == [
        "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR",
    ]  # fmt: skip
    assert without_age(deploy, 4)[1] == ["web", "0/2", "0", "0", "nginx", "nginx:1.25", "app=web"]

    svc = rows(apiserver.kubemu("get", "svc", "-n", "shop").stdout)
    assert svc[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert svc[1][0:2] == ["web", "ClusterIP"] and svc[1][3:5] == ["<none>", "80/TCP"]

    cm = rows(apiserver.kubemu("get", "configmaps", "-n", "shop").stdout)
    assert without_age(cm, 2) == [["NAME", "DATA"], ["settings", "1"]]

    ns = rows(apiserver.kubemu("get", "ns").stdout)
    assert ns[0] == ["NAME", "STATUS", "AGE"]
    assert [r[:2] for r in ns[1:]] == [
        ["default", "Active"],
        ["kube-node-lease", "Active"],
        ["kube-public", "Active"],
        ["kube-system", "Active"],
        ["shop", "Active"],
    ]


def test_json_yaml_and_name(apiserver: ApiServer) -> None:
    one = json.loads(apiserver.kubemu("get", "pod", "db", "-n", "shop", "-o", "json").stdout)
    assert (one["kind"], one["metadata"]["name"], one["metadata"]["namespace"]) == (
        "Pod",
        "db",
        "shop",
    )
    assert int(one["metadata"]["resourceVersion"]) > 0

    listed = json.loads(apiserver.kubemu("get", "pods", "-A", "-o", "json").stdout)
    assert (listed["apiVersion"], listed["kind"]) == ("v1", "List")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["cache", "db"]
    assert all(i["kind"] == "Pod" for i in listed["items"])

    as_yaml = yaml.safe_load(apiserver.kubemu("get", "deploy", "-n", "shop", "-o", "yaml").stdout)
    assert as_yaml["kind"] == "List"
    assert as_yaml["items"][0]["apiVersion"] == "apps/v1"
    assert as_yaml["items"][0]["spec"]["replicas"] == 2

    single_yaml = yaml.safe_load(apiserver.kubemu("get", "ns", "shop", "-o", "yaml").stdout)
    assert (single_yaml["kind"], single_yaml["metadata"]["name"]) == ("Namespace", "shop")

    names = apiserver.kubemu("get", "deploy", "-A", "-o", "name").stdout
    assert names == "deployment.apps/web\n"

    empty = json.loads(apiserver.kubemu("get", "pods", "-n", "kube-system", "-o", "json").stdout)
    assert (empty["kind"], empty["items"]) == ("List", [])


def test_selectors(apiserver: ApiServer) -> None:
    by_label = apiserver.kubemu("get", "pods", "-A", "-l", "app in (db,web)", "-o", "name")
    assert by_label.stdout == "pod/db\n"
    by_field = apiserver.kubemu(
        "get", "pods", "-A", "--field-selector", "spec.nodeName=node-1", "-o", "name"
    )
    assert by_field.stdout == "pod/cache\n"
    unscheduled = apiserver.kubemu(
        "get", "pods", "-A", "--field-selector", "spec.nodeName=", "-o", "name"
    )
    assert unscheduled.stdout == "pod/db\n"
    bad = apiserver.kubemu("get", "pods", "--field-selector", "spec.color=red")
    assert bad.returncode == 1
    assert bad.stderr == "Error from server (BadRequest): field label not supported: spec.color\n"


def test_errors_and_empty_lists(apiserver: ApiServer) -> None:
    out = apiserver.kubemu("get", "pods", "nope")
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == 'Error from server (NotFound): pods "nope" not found\n'
    out = apiserver.kubemu("get", "deploy", "nope", "-n", "shop")
    assert out.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    out = apiserver.kubemu("get", "pods", "-n", "kube-system")
    assert (out.returncode, out.stdout) == (0, "")
    assert out.stderr == "No resources found in kube-system namespace.\n"
    out = apiserver.kubemu("get", "widgets")
    assert out.returncode == 1 and out.stderr.startswith("error: ")
