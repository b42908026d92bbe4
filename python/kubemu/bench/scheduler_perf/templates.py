"""Node, pod and churn templates (Kubernetes YAML) and stamping objects from them.

A template is one object. :class:`Template` stamps copies with names:

* ``metadata.generateName: p-`` → ``p-<N>`` (named here, so runs are reproducible and the
  apiserver does no name retries);
* a fixed ``metadata.name`` → itself for the first copy, ``<name>-<N>`` after;
* neither → ``node-<N>``, ``pod-<N>`` (``<kind>-<N>`` in lower case).

``N`` counts per :class:`Template` over a run (pass ``start`` to continue a sequence). Nodes get
``kubernetes.io/hostname: <name>`` (the kubelet registers it; hostname topology needs it) and
labels from a label strategy; pods lose ``spec.nodeName`` only if the template leaves it unset.
Copies share the template's nested structures except ``metadata`` and ``metadata.labels``: the
apiserver copies what it is given, and nobody mutates them here.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from kubemu.bench.scheduler_perf.config import ConfigError

__all__ = [
    "HOSTNAME_LABEL",
    "NodeLabels",
    "Template",
    "default_node_template",
    "default_pod_template",
    "load_template",
    "shipped_config",
]

Obj = dict[str, Any]

HOSTNAME_LABEL: Final = "kubernetes.io/hostname"
CONFIG_PACKAGE: Final = "kubemu.bench.scheduler_perf"


def shipped_config(name: str = "performance-config.yaml") -> Path:
    """The path of a config shipped in this package (``configs/<name>``)."""
    path = Path(str(resources.files(CONFIG_PACKAGE).joinpath("configs", *name.split("/"))))
    if not path.is_file():
        raise ConfigError(f"no shipped config {name!r}")
    return path


def load_template(path: str | Path) -> Obj:
    """The object in the YAML file at ``path`` (one document with ``kind`` and ``metadata``)."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"template {path}: {e.strerror or e}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"template {path}: invalid YAML: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        raise ConfigError(f"template {path}: expected one Kubernetes object with a kind")
    meta = doc.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise ConfigError(f"template {path}: metadata must be a mapping")
    doc.setdefault("apiVersion", "v1")
    return doc


def default_node_template() -> Obj:
    return load_template(shipped_config("templates/node-default.yaml"))


def default_pod_template() -> Obj:
    return load_template(shipped_config("templates/pod-default.yaml"))


@dataclass
class NodeLabels:
    """Labels added to each stamped node: ``key`` set to one of ``values`` (seeded random
    choice, as upstream's LabelNodePrepareStrategy) and ``unique_key`` to a per-node value
    (UniqueNodeLabelStrategy)."""

    key: str = ""
    values: tuple[str, ...] = ()
    unique_key: str = ""
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def labels(self, name: str) -> Mapping[str, str]:
        out: dict[str, str] = {}
        if self.key and self.values:
            out[self.key] = self._rng.choice(self.values)
        if self.unique_key:
            out[self.unique_key] = f"{self.unique_key.rsplit('/', 1)[-1]}-{name}"
        return out


class Template:
    """Stamps named copies of ``obj`` (module docstring)."""

    def __init__(self, obj: Obj, *, start: int = 0, node_labels: NodeLabels | None = None):
        self.obj = obj
        self.kind = str(obj.get("kind") or "")
        self.next = start
        self.node_labels = node_labels
        meta = obj.get("metadata") or {}
        self._generate = str(meta.get("generateName") or "")
        self._name = str(meta.get("name") or "")
        self._fallback = f"{self.kind.lower() or 'object'}-"

    @property
    def namespaced(self) -> bool:
        return self.kind not in {"Node", "Namespace", "PersistentVolume", "PriorityClass"}

    def name(self, n: int) -> str:
        if self._generate:
            return f"{self._generate}{n}"
        if self._name:
            return self._name if n == 0 else f"{self._name}-{n}"
        return f"{self._fallback}{n}"

    def stamp(self, namespace: str = "") -> Obj:
        """The next copy (in ``namespace`` for a namespaced kind)."""
        n = self.next
        self.next += 1
        name = self.name(n)
        meta = dict(self.obj.get("metadata") or {})
        meta.pop("generateName", None)
        meta["name"] = name
        if self.namespaced:
            if namespace:
                meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if self.kind == "Node":
            labels = dict(meta.get("labels") or {})
            labels.setdefault(HOSTNAME_LABEL, name)
            if self.node_labels is not None:
                labels.update(self.node_labels.labels(name))
            meta["labels"] = labels
        out = dict(self.obj)
        out["metadata"] = meta
        return out

    def stamp_many(self, count: int, namespace: str = "") -> Iterator[Obj]:
        for _ in range(count):
            yield self.stamp(namespace)
