"""The kinds kubemu serves, and lookups by the names ``kubemu get`` accepts.

Adding a kind is one module in :mod:`kubemu.objects.kinds` and one line in :data:`ALL_KINDS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kubemu.objects.kinds.base import Kind
from kubemu.objects.kinds.configmap import CONFIG_MAP
from kubemu.objects.kinds.daemonset import DAEMON_SET
from kubemu.objects.kinds.deployment import DEPLOYMENT
from kubemu.objects.kinds.endpoints import ENDPOINTS
from kubemu.objects.kinds.endpointslice import ENDPOINT_SLICE
from kubemu.objects.kinds.event import EVENT
from kubemu.objects.kinds.job import JOB
from kubemu.objects.kinds.lease import LEASE
from kubemu.objects.kinds.namespace import NAMESPACE
from kubemu.objects.kinds.node import NODE
from kubemu.objects.kinds.pod import POD
from kubemu.objects.kinds.poddisruptionbudget import POD_DISRUPTION_BUDGET
from kubemu.objects.kinds.priorityclass import PRIORITY_CLASS
from kubemu.objects.kinds.replicaset import REPLICA_SET
from kubemu.objects.kinds.replicationcontroller import REPLICATION_CONTROLLER
from kubemu.objects.kinds.secret import SECRET
from kubemu.objects.kinds.service import SERVICE
from kubemu.objects.kinds.serviceaccount import SERVICE_ACCOUNT

__all__ = ["ALL_KINDS", "REGISTRY", "Registry"]

ALL_KINDS: tuple[Kind, ...] = (
    NAMESPACE,
    NODE,
    POD,
    SERVICE,
    ENDPOINTS,
    ENDPOINT_SLICE,
    REPLICA_SET,
    REPLICATION_CONTROLLER,
    DEPLOYMENT,
    DAEMON_SET,
    JOB,
    SERVICE_ACCOUNT,
    SECRET,
    CONFIG_MAP,
    LEASE,
    EVENT,
    PRIORITY_CLASS,
    POD_DISRUPTION_BUDGET,
)


class Registry:
    """Kinds indexed by every name a user or an object may use for them."""

    def __init__(self, kinds: Iterable[Kind] = ()) -> None:
        self._kinds: list[Kind] = []
        self._names: dict[str, Kind] = {}
        self._group_kinds: dict[tuple[str, str], Kind] = {}
        self._group_resources: dict[tuple[str, str], Kind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: Kind) -> None:
        """Add a kind; its names must not clash with a registered kind's."""
        names = {kind.plural, kind.singular, kind.kind.lower(), *kind.short_names}
        for name in names:
            other = self._names.get(name)
            if other is not None and other is not kind:
                raise ValueError(f"{name!r} already names {other.group_resource}")
        for name in names:
            self._names[name] = kind
        self._group_kinds[(kind.group, kind.kind)] = kind
        self._group_resources[(kind.group, kind.plural)] = kind
        self._kinds.append(kind)

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def get(self, name: str) -> Kind | None:
        """A kind by plural, singular, short name or kind (any case), optionally qualified as
        ``<name>.<group>`` or ``<name>.<version>.<group>`` (``deployments.apps``,
        ``deploy.v1.apps``, ``pods.v1.``); None if unknown."""
        name = name.strip().lower()
        kind = self._names.get(name)
        if kind is not None:
            return kind
        head, dot, rest = name.partition(".")
        if not dot:
            return None
        kind = self._names.get(head)
        if kind is None:
            return None
        group = kind.group.lower()
        if rest in (group, f"{kind.version}.{group}") or (not group and rest == kind.version):
            return kind
        return None

    def lookup(self, name: str) -> Kind:
        """As :meth:`get`, raising ``KeyError`` with kubectl's wording when unknown."""
        kind = self.get(name)
        if kind is None:
            raise KeyError(f'the server doesn\'t have a resource type "{name}"')
        return kind

    def by_group_kind(self, group: str, kind: str) -> Kind:
        return self._group_kinds[(group, kind)]

    def by_group_resource(self, group: str, resource: str) -> Kind:
        return self._group_resources[(group, resource)]

    def by_api_version_kind(self, api_version: str, kind: str) -> Kind:
        """The kind of ``apiVersion``/``kind``; ``KeyError`` if not served (or wrong version)."""
        group, _, version = api_version.rpartition("/")
        found = self._group_kinds.get((group, kind))
        if found is None or found.version != version:
            raise KeyError(f'no matches for kind "{kind}" in version "{api_version}"')
        return found

    def for_object(self, obj: Mapping[str, Any]) -> Kind:
        return self.by_api_version_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))


REGISTRY = Registry(ALL_KINDS)
"""The registry of every kind kubemu serves."""
