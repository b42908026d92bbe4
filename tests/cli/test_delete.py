"""``kubemu delete``: kubectl's messages, graceful deletion of bound pods, NotFound."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.conftest import ApiServer

BOUND_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: bound, namespace: shop}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 45
  containers: [{name: app, image: "nginx:1.25"}]
"""


def test_delete_objects(apiserver: ApiServer, manifest: Path) -> None:
    assert apiserver.kubemu("apply", "-f", str(manifest)).returncode == 0
    out = apiserver.kubemu("delete", "pod", "db", "-n", "shop")
    assert (out.returncode, out.stdout, out.stderr) == (0, 'pod "db" deleted\n', "")
    # Not bound to a node: gone at once, as in Kubernetes.
    assert apiserver.kubemu("get", "pod", "db", "-n", "shop").returncode == 1
    out = apiserver.kubemu("delete", "deploy", "web", "-n", "shop")
    assert out.stdout == 'deployment.apps "web" deleted\n'
    out = apiserver.kubemu("delete", "svc", "web", "configmap", "-n", "shop")
    assert out.returncode == 1
    assert out.stdout == 'service "web" deleted\n'
    assert out.stderr == 'Error from server (NotFound): services "configmap" not found\n'
    out = apiserver.kubemu("delete", "cm", "settings", "-n", "shop")
    assert out.stdout == 'configmap "settings" deleted\n'
    out = apiserver.kubemu("get", "cm", "-n", "shop")
    assert out.stderr == "No resources found in shop namespace.\n"


def test_bound_pod_is_deleted_gracefully(apiserver: ApiServer) -> None:
    assert (
        apiserver.kubemu(
            "apply", "-f", "-", stdin="kind: Namespace\napiVersion: v1\nmetadata: {name: shop}\n"
        ).returncode
        == 0
    )
    assert apiserver.kubemu("apply", "-f", "-", stdin=BOUND_POD).returncode == 0
    out = apiserver.kubemu("delete", "pods", "bound", "-n", "shop")
    assert (out.returncode, out.stdout) == (0, 'pod "bound" deleted\n')
    # The kubelet finishes the deletion: until then the pod remains, terminating.
    got = json.loads(apiserver.kubemu("get", "pod", "bound", "-n", "shop", "-o", "json").stdout)
    assert got["metadata"]["deletionTimestamp"]
    assert got["metadata"]["deletionGracePeriodSeconds"] == 45
    table = apiserver.kubemu("get", "pods", "-n", "shop").stdout.splitlines()
    assert re.split(r"\s{3,}", table[1])[:3] == ["bound", "0/1", "Terminating"]
    out = apiserver.kubemu("delete", "po", "bound", "-n", "shop", "--grace-period", "0")
    assert out.stdout == 'pod "bound" deleted\n'
    out = apiserver.kubemu("get", "pod", "bound", "-n", "shop")
    assert out.stderr == 'Error from server (NotFound): pods "bound" not found\n'


def test_not_found_and_forbidden(apiserver: ApiServer) -> None:
    out = apiserver.kubemu("delete", "pod", "nope")
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == 'Error from server (NotFound): pods "nope" not found\n'
    out = apiserver.kubemu("delete", "namespace", "default")
    assert out.returncode == 1
    assert out.stderr.startswith("Error from server (Forbidden): ")


def test_namespace_deletion_leaves_it_terminating(apiserver: ApiServer) -> None:
    stdin = "kind: Namespace\napiVersion: v1\nmetadata: {name: doomed}\n"
    assert apiserver.kubemu("apply", "-f", "-", stdin=stdin).returncode == 0
    out = apiserver.kubemu("delete", "ns", "doomed")
    assert out.stdout == 'namespace "doomed" deleted\n'
    table = apiserver.kubemu("get", "ns", "doomed").stdout.splitlines()
    assert re.split(r"\s{3,}", table[1])[:2] == ["doomed", "Terminating"]
    out = apiserver.kubemu(
        "apply",
        "-f",
        "-",
        stdin="kind: ConfigMap\napiVersion: v1\nmetadata: {name: c, namespace: doomed}\n",
    )
    assert out.returncode == 1
    assert out.stderr == (
        'Error from server (Forbidden): configmaps "c" is forbidden: unable to create new '
        "content in namespace doomed because it is being terminated\n"
    )
