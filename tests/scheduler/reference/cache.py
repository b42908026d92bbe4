"""The node cache: per-node pods, requests, host ports and images, and the node order.

Order follows upstream's ``nodeTree``: zones in order of first appearance, nodes in a zone in
insertion order, interleaved one node per zone per round. A node whose zone changes moves to the
end of its new zone; an emptied zone leaves the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import BIND_ALL_HOST_IP, HostPort, Node, Pod
from .resources import Resource


@dataclass
class NodeInfo:
    node: Node
    present: bool = False
    requested: Resource = field(default_factory=Resource)
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    pods: dict[str, Pod] = field(default_factory=dict)
    ports: list[HostPort] = field(default_factory=list)  # with repetitions, one per pod use

    @property
    def name(self) -> str:
        return self.node.name

    def port_conflict(self, want: HostPort) -> bool:
        """Upstream ``HostPortInfo.CheckConflict``."""
        if want.port <= 0:
            return False
        return any(
            u.port == want.port
            and u.protocol == want.protocol
            and (want.ip == BIND_ALL_HOST_IP or u.ip == want.ip or u.ip == BIND_ALL_HOST_IP)
            for u in self.ports
        )

    def image_names(self) -> set[str]:
        return {n for names, _ in self.node.images for n in names}


def _empty_node(name: str) -> Node:
    return Node(name, {}, False, [], Resource(), [])


@dataclass
class ImageState:
    size: int
    nodes: set[str]


class Cache:
    def __init__(self) -> None:
        self.infos: dict[str, NodeInfo] = {}
        self.pod_node: dict[str, str] = {}
        self.zones: dict[str, list[str]] = {}  # insertion-ordered
        self.images: dict[str, ImageState] = {}
        self.namespaces: dict[str, dict[str, str]] = {}  # name → labels

    # Namespaces (for the namespaceSelector of pod affinity terms)

    def set_namespace(self, name: str, labels: dict[str, str]) -> None:
        self.namespaces[name] = dict(labels)

    def remove_namespace(self, name: str) -> bool:
        return self.namespaces.pop(name, None) is not None

    # Nodes

    def add_node(self, node: Node) -> None:
        info = self.infos.get(node.name)
        if info is None:
            info = self.infos[node.name] = NodeInfo(_empty_node(node.name))
        old_zone = info.node.zone_key() if info.present else None
        if info.present:
            self._remove_images(info.node)
        self._add_images(node)
        new_zone = node.zone_key()
        info.node = node
        if old_zone != new_zone:
            if old_zone is not None:
                self._zone_remove(old_zone, node.name)
            self.zones.setdefault(new_zone, []).append(node.name)
        info.present = True

    def remove_node(self, name: str) -> bool:
        info = self.infos.get(name)
        if info is None or not info.present:
            return False
        self._zone_remove(info.node.zone_key(), name)
        self._remove_images(info.node)
        info.present = False
        info.node = _empty_node(name)
        if not info.pods:
            del self.infos[name]
        return True

    def _zone_remove(self, zone: str, name: str) -> None:
        names = self.zones[zone]
        names.remove(name)
        if not names:
            del self.zones[zone]

    def _add_images(self, node: Node) -> None:
        for names, size in node.images:
            for n in names:
                st = self.images.get(n)
                if st is None or not st.nodes:
                    st = self.images[n] = ImageState(size, set())
                st.nodes.add(node.name)

    def _remove_images(self, node: Node) -> None:
        for names, _ in node.images:
            for n in names:
                st = self.images.get(n)
                if st is not None:
                    st.nodes.discard(node.name)

    def present(self) -> list[NodeInfo]:
        """The present nodes, in :meth:`order`."""
        return [self.infos[n] for n in self.order()]

    def order(self) -> list[str]:
        zones = list(self.zones.values())
        longest = max((len(z) for z in zones), default=0)
        return [z[i] for i in range(longest) for z in zones if i < len(z)]

    def num_nodes(self) -> int:
        return sum(len(z) for z in self.zones.values())

    def get(self, name: str) -> NodeInfo | None:
        info = self.infos.get(name)
        return info if info is not None and info.present else None

    # Pods

    def add_pod(self, pod: Pod, node_name: str) -> None:
        key = pod.key()
        self.remove_pod(key)
        info = self.infos.get(node_name)
        if info is None:
            info = self.infos[node_name] = NodeInfo(_empty_node(node_name))
        info.requested.add(pod.requests)
        info.non_zero_cpu += pod.non_zero_cpu
        info.non_zero_memory += pod.non_zero_memory
        info.ports.extend(pod.host_ports)
        info.pods[key] = pod
        self.pod_node[key] = node_name

    def remove_pod(self, key: str) -> bool:
        node_name = self.pod_node.pop(key, None)
        if node_name is None:
            return False
        info = self.infos[node_name]
        pod = info.pods.pop(key)
        info.requested.add(pod.requests, -1)
        info.non_zero_cpu -= pod.non_zero_cpu
        info.non_zero_memory -= pod.non_zero_memory
        for p in pod.host_ports:
            info.ports.remove(p)
        if not info.present and not info.pods:
            del self.infos[node_name]
        return True
