"""What a failed attempt leaves on the API: a ``FailedScheduling`` Event and the pod's
``PodScheduled=False`` condition (with ``status.nominatedNodeName`` when preemption nominated
a node, in the same status update as upstream's ``updatePod``); and the ``Preempted`` Event on a
preemption victim.

The Event is a core/v1 Event as kube-scheduler's recorder writes it: ``reason:
FailedScheduling``, ``type: Warning``, the FitError message (``0/N nodes are available:
...``), ``source.component`` the scheduler's name, ``involvedObject`` the pod. The condition is
``{type: PodScheduled, status: "False", reason: Unschedulable (SchedulerError for an error),
message}``, written with ``update_status`` only when it changes (upstream ``updatePod``).

Events go through :class:`kubemu.client.events.EventRecorder` (client-go's correlation: a pod
that keeps failing with the same message has one Event whose ``count`` grows, similar messages
are combined from the 10th on, and 25 events per pod then one per 5 minutes at most). Upstream's
kube-scheduler records through the events.k8s.io/v1 API, whose series count repeats the same way;
kubemu serves core/v1 Events, so the core/v1 recorder's rules apply. Writes are queued by
:meth:`EventRecorder.failed_scheduling` (never blocking scheduling) and sent by a background
task; :meth:`flush` sends what is queued now.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from kubemu.client.events import EventRecorder as ObjectEventRecorder
from kubemu.client.events.flush_loop import FlushLoop
from kubemu.client.interface import Client
from kubemu.objects.errors import Reason, StatusError
from kubemu.objects.meta import now_rfc3339

__all__ = ["FAILED_SCHEDULING", "PREEMPTED", "EventRecorder"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

FAILED_SCHEDULING: Final = "FailedScheduling"
PREEMPTED: Final = "Preempted"


def _scheduled_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "PodScheduled":
            return cond
    return None


class EventRecorder(FlushLoop):
    """Queues FailedScheduling events and PodScheduled=False conditions; writes them in the
    background (:meth:`start`) or on :meth:`flush`."""

    def __init__(
        self,
        client: Client,
        *,
        component: str = "default-scheduler",
        instance: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__("scheduler-events")
        self.client = client
        self.component = component
        self.instance = instance or component
        self.clock = clock
        self.recorder = ObjectEventRecorder(
            client, component=component, instance=self.instance, clock=clock
        )
        self._conditions: dict[str, tuple[Obj, str, str, str | None]] = {}
        self.conditions_written = 0

    def failed_scheduling(
        self,
        pod: Obj,
        message: str,
        *,
        error: bool = False,
        component: str | None = None,
        nominated_node: str | None = None,
    ) -> None:
        """Record a failed attempt (``error``: the scheduler failed, not the fit).
        ``component``: the profile's schedulerName (default: the recorder's).
        ``nominated_node``: preemption's nomination (``""`` clears it; None leaves it)."""
        self.recorder.event(
            pod,
            "Warning",
            FAILED_SCHEDULING,
            message,
            kind="Pod",
            api_version="v1",
            component=component,
        )
        meta = pod.get("metadata") or {}
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        reason = "SchedulerError" if error else "Unschedulable"
        cond = _scheduled_condition(pod)
        current_nnn = (pod.get("status") or {}).get("nominatedNodeName") or ""
        if (
            cond is not None
            and cond.get("status") == "False"
            and cond.get("reason") == reason
            and cond.get("message") == message
            and (nominated_node is None or nominated_node == current_nnn)
        ):
            self._conditions.pop(key, None)
        else:
            self._conditions[key] = (pod, reason, message, nominated_node)
        self.wake()

    def preempted(self, victim: Obj, preemptor_uid: str, node: str) -> None:
        """The ``Preempted`` Event on a victim (upstream: ``Preempted by pod <uid> on node
        <node>``, type Normal, action Preempting)."""
        self.recorder.event(
            victim,
            "Normal",
            PREEMPTED,
            f"Preempted by pod {preemptor_uid} on node {node}",
            kind="Pod",
            api_version="v1",
            action="Preempting",
        )
        self.wake()

    @property
    def pending(self) -> int:
        return self.recorder.pending + len(self._conditions)

    @property
    def events_written(self) -> int:
        """Events created or written back with a new count."""
        return self.recorder.events_written

    # -- writing ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write everything queued so far."""
        conditions, self._conditions = self._conditions, {}
        await self.recorder.flush()
        for pod, reason, message, nominated in conditions.values():
            try:
                if await self._set_condition(pod, reason, message, nominated):
                    self.conditions_written += 1
            except StatusError as e:
                if e.reason != Reason.NOT_FOUND:
                    log.warning("updating the PodScheduled condition failed: %s", e)

    async def _set_condition(
        self, pod: Obj, reason: str, message: str, nominated: str | None = None
    ) -> bool:
        meta = pod.get("metadata") or {}
        ns, name = meta.get("namespace", ""), meta.get("name", "")
        for attempt in range(2):
            if (pod.get("spec") or {}).get("nodeName"):
                return False  # bound meanwhile
            new = copy.deepcopy(pod)
            status = new.setdefault("status", {})
            conditions = status.setdefault("conditions", [])
            cond = _scheduled_condition(new)
            if cond is None:
                cond = {"type": "PodScheduled"}
                conditions.append(cond)
            if cond.get("status") != "False":
                cond["lastTransitionTime"] = now_rfc3339(self.clock())
            cond.update(status="False", reason=reason, message=message)
            if nominated:
                status["nominatedNodeName"] = nominated
            elif nominated == "":
                status.pop("nominatedNodeName", None)
            try:
                await self.client.update_status("pods", ns, new)
                return True
            except StatusError as e:
                if e.reason != Reason.CONFLICT or attempt:
                    raise
                pod = await self.client.get("pods", ns, name)
        return False
