"""Kind lookups as ``kubemu get`` needs them, and store keys."""

from __future__ import annotations

import pytest
from kubemu.objects.kinds import Kind
from kubemu.objects.registry import ALL_KINDS, REGISTRY, Registry

SHORT_NAMES = {
    "po": "pods",
    "no": "nodes",
    "ns": "namespaces",
    "svc": "services",
    "ep": "endpoints",
    "rs": "replicasets",
    "rc": "replicationcontrollers",
    "deploy": "deployments",
    "ds": "daemonsets",
    "sa": "serviceaccounts",
    "cm": "configmaps",
    "ev": "events",
    "pc": "priorityclasses",
    "pdb": "poddisruptionbudgets",
}


@pytest.mark.parametrize(("short", "plural"), sorted(SHORT_NAMES.items()))
def test_short_names(short: str, plural: str) -> None:
    assert REGISTRY.lookup(short).plural == plural


@pytest.mark.parametrize(
    ("name", "plural"),
    [
        ("pods", "pods"),
        ("pod", "pods"),
        ("Pod", "pods"),
        ("PODS", "pods"),
        ("deployments.apps", "deployments"),
        ("deploy.apps", "deployments"),
        ("deployments.v1.apps", "deployments"),
        ("endpointslices.discovery.k8s.io", "endpointslices"),
        ("leases.coordination.k8s.io", "leases"),
        ("jobs", "jobs"),
        ("secret", "secrets"),
        ("pods.v1", "pods"),
    ],
)
def test_lookup(name: str, plural: str) -> None:
    assert REGISTRY.lookup(name).plural == plural


def test_unknown_names() -> None:
    assert REGISTRY.get("deployments.batch") is None
    assert REGISTRY.get("widgets") is None
    with pytest.raises(KeyError) as exc:
        REGISTRY.lookup("widgets")
    assert exc.value.args[0] == 'the server doesn\'t have a resource type "widgets"'


def test_by_api_version_and_kind() -> None:
    assert REGISTRY.by_api_version_kind("apps/v1", "Deployment").plural == "deployments"
    assert REGISTRY.by_api_version_kind("v1", "Pod").plural == "pods"
    assert REGISTRY.for_object(
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget"}
    ).short_names == ("pdb",)
    with pytest.raises(
        KeyError, match='no matches for kind "Deployment" in version "apps/v1beta1"'
    ):
        REGISTRY.by_api_version_kind("apps/v1beta1", "Deployment")
    assert REGISTRY.by_group_kind("batch", "Job").plural == "jobs"
    assert (
        REGISTRY.by_group_resource("scheduling.k8s.io", "priorityclasses").kind == "PriorityClass"
    )


def test_every_kind_is_registered_once_with_unique_names() -> None:
    assert len(REGISTRY) == len(ALL_KINDS) == 18
    names: set[str] = set()
    for kind in REGISTRY:
        own = {kind.plural, kind.singular, kind.kind.lower(), *kind.short_names}
        assert not own & names, kind.plural
        names |= own


def test_a_clashing_kind_is_refused() -> None:
    registry = Registry(ALL_KINDS)
    clash = Kind(group="example.com", version="v1", kind="Pod2", plural="pods2", singular="pod2",
                 short_names=("po",))  # fmt: skip
    with pytest.raises(ValueError, match="'po' already names pods"):
        registry.register(clash)


def test_store_keys() -> None:
    pods = REGISTRY.lookup("pods")
    assert pods.key("default", "web") == b"/registry/pods/default/web"
    assert pods.prefix() == b"/registry/pods/"
    assert pods.prefix("default") == b"/registry/pods/default/"
    assert REGISTRY.lookup("nodes").key(None, "n1") == b"/registry/nodes/n1"
    assert REGISTRY.lookup("deploy").key("d", "web") == b"/registry/apps/deployments/d/web"
    assert (
        REGISTRY.lookup("pc").key(None, "high")
        == b"/registry/scheduling.k8s.io/priorityclasses/high"
    )
    assert REGISTRY.lookup("ns").prefix("ignored") == b"/registry/namespaces/"
    assert pods.key_of({"metadata": {"namespace": "a", "name": "b"}}) == b"/registry/pods/a/b"
    with pytest.raises(ValueError, match="namespace is required"):
        pods.key("", "web")


def test_names_of_a_kind() -> None:
    deploy = REGISTRY.lookup("deployments")
    assert deploy.api_version == "apps/v1"
    assert deploy.list_kind == "DeploymentList"
    assert deploy.group_resource == "deployments.apps"
    assert deploy.group_kind == "Deployment.apps"
    assert REGISTRY.lookup("pods").group_kind == "Pod"


def test_field_names() -> None:
    assert REGISTRY.lookup("nodes").field_names == {"metadata.name", "spec.unschedulable"}
    assert "spec.nodeName" in REGISTRY.lookup("pods").field_names
    assert "metadata.namespace" in REGISTRY.lookup("configmaps").field_names
    assert REGISTRY.lookup("secrets").field_names == {"metadata.name", "metadata.namespace", "type"}
