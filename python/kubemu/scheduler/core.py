"""The one place that knows the Rust scheduling core's Python API (``kubemu._core.Scheduler``).

The service talks to a :class:`SchedulingCore`: node, namespace and pod events in as msgpack
bytes, ``schedule_batch`` out as :class:`Outcome`-shaped results. :func:`rust_core` builds the
real one; tests may pass any object with the same methods (a stand-in core).

The core is not called from the event loop while it schedules: every call goes through the
:class:`~kubemu.scheduler.cache_sync.CacheSync` operation buffer, applied on the scheduling
thread right before each batch (see :mod:`kubemu.scheduler.service`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kubemu.apiserver import codec

__all__ = ["Outcome", "Preemption", "SchedulingCore", "encode_profile", "preemption", "rust_core"]


class Outcome(Protocol):
    """One pod's result (``kubemu._core.ScheduleResult`` has this shape)."""

    @property
    def pod(self) -> str:
        """``namespace/name``."""
        ...

    @property
    def node(self) -> str | None: ...

    @property
    def status(self) -> str:
        """``scheduled``, ``unschedulable`` or ``error``."""
        ...

    @property
    def feasible_nodes(self) -> int: ...

    @property
    def evaluated_nodes(self) -> int: ...

    @property
    def message(self) -> str | None:
        """Upstream's FitError message (``0/N nodes are available: ...``) or the error."""
        ...

    @property
    def reasons(self) -> Mapping[str, int]: ...


class SchedulingCore(Protocol):
    """What the service needs of a scheduling core (one per profile)."""

    def add_node(self, node: bytes) -> None: ...

    def update_node(self, node: bytes) -> None: ...

    def remove_node(self, name: str) -> bool: ...

    def add_pod(self, pod: bytes) -> None: ...

    def remove_pod(self, namespace: str, name: str) -> bool: ...

    def forget(self, namespace: str, name: str) -> bool: ...

    def schedule_batch(self, pods: Sequence[bytes]) -> Sequence[Outcome]: ...


def encode_profile(profile: Mapping[str, Any]) -> bytes:
    """The msgpack the core's ``profile=`` takes: a KubeSchedulerProfile document (schedulerName,
    percentageOfNodesToScore, plugins, pluginConfig)."""
    keys = ("schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig")
    return codec.encode({k: profile[k] for k in keys if profile.get(k) is not None})


def rust_core(
    profile: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    percentage_of_nodes_to_score: int = 0,
) -> SchedulingCore:
    """``kubemu._core.Scheduler`` for one profile (None: the default profile). Raises
    ValueError for a profile the core rejects."""
    from kubemu._core import Scheduler

    data = encode_profile(profile) if profile else None
    core: SchedulingCore = Scheduler(seed, percentage_of_nodes_to_score, data)
    return core


def set_namespace(core: SchedulingCore, namespace: bytes) -> None:
    """Namespace labels for the core's namespace selectors (stand-in cores may lack them)."""
    fn = getattr(core, "set_namespace", None)
    if fn is not None:
        fn(namespace)


def remove_namespace(core: SchedulingCore, name: str) -> None:
    fn = getattr(core, "remove_namespace", None)
    if fn is not None:
        fn(name)


def set_pdb(core: SchedulingCore, pdb: bytes) -> None:
    """A PodDisruptionBudget for preemption (stand-in cores may lack them)."""
    fn = getattr(core, "set_pdb", None)
    if fn is not None:
        fn(pdb)


def remove_pdb(core: SchedulingCore, namespace: str, name: str) -> None:
    fn = getattr(core, "remove_pdb", None)
    if fn is not None:
        fn(namespace, name)


def set_nominated_pod(core: SchedulingCore, pod: bytes, had_nomination: bool) -> None:
    """A pending pod's ``status.nominatedNodeName`` for the core's nominator."""
    fn = getattr(core, "set_nominated_pod", None)
    if fn is not None:
        fn(pod, had_nomination)


def remove_nominated_pod(core: SchedulingCore, namespace: str, name: str) -> None:
    fn = getattr(core, "remove_nominated_pod", None)
    if fn is not None:
        fn(namespace, name)


@dataclass(frozen=True)
class Preemption:
    """What PostFilter (DefaultPreemption) decided for an unschedulable pod."""

    nominated_node: str | None
    """The node the pod is now nominated to; ``""``: clear its nomination; None: unchanged."""
    victims: tuple[tuple[str, str, str], ...] = ()
    """(namespace, name, uid) of the pods to delete, most important first."""
    cleared_nominations: tuple[tuple[str, str], ...] = ()
    """(namespace, name) of lower-priority pods whose nomination must be cleared."""

    @property
    def preempted(self) -> bool:
        return bool(self.nominated_node) and bool(self.victims)


def preemption(outcome: Outcome) -> Preemption | None:
    """The preemption part of an outcome (None when PostFilter decided nothing, or the core does
    not preempt)."""
    node = getattr(outcome, "nominated_node", None)
    if node is None:
        return None
    victims = getattr(outcome, "victims", None) or ()
    cleared = getattr(outcome, "cleared_nominations", None) or ()
    return Preemption(
        str(node),
        tuple((str(a), str(b), str(c)) for a, b, c in victims),
        tuple((str(a), str(b)) for a, b in cleared),
    )


def preemption_attempted(outcome: Outcome) -> bool:
    """DefaultPreemption's PostFilter ran for this outcome (it either decided something or said
    why not, in the ``preemption: ...`` part of the message)."""
    if getattr(outcome, "nominated_node", None) is not None:
        return True
    return outcome.status == "unschedulable" and " preemption: " in (outcome.message or "")
