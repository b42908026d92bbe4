"""An event recorder for kubemu's components: builds core/v1 Events about objects, correlates
them (:mod:`kubemu.client.events.correlator`: counting, aggregation, spam filter) and writes
them in batches, never blocking the caller.

Writes are queued by :meth:`EventRecorder.event` and sent by :meth:`EventRecorder.flush` (or the
background task of :meth:`EventRecorder.start`): new Events in one ``create_many`` per
namespace, repeats (the same Event with a higher ``count``) in one ``update_many``. Within one
flush the queue keeps only the newest state of each Event, so an Event created and repeated
before a flush is created once with its final count. A repeat whose Event is gone (expired by
the apiserver's event TTL, or deleted) is created again, as client-go does when its patch finds
no Event.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from kubemu.client.events.correlator import EventCorrelator, event_name
from kubemu.client.events.flush_loop import FlushLoop
from kubemu.client.interface import Client
from kubemu.objects.errors import Reason, StatusError
from kubemu.objects.meta import now_rfc3339

__all__ = ["EventRecorder", "object_reference"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def object_reference(obj: Mapping[str, Any], *, kind: str = "", api_version: str = "") -> Obj:
    """An ``involvedObject`` reference to ``obj`` (``kind``/``api_version`` when the object
    does not carry them, as objects from a typed list may not)."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    ref: Obj = {"kind": obj.get("kind") or kind}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    ref["name"] = meta.get("name", "")
    ref["uid"] = meta.get("uid", "")
    ref["apiVersion"] = obj.get("apiVersion") or api_version
    ref["resourceVersion"] = meta.get("resourceVersion", "")
    return ref


class EventRecorder(FlushLoop):
    """Records Events about objects for one component (``source.component``)."""

    def __init__(
        self,
        client: Client,
        *,
        component: str,
        host: str = "",
        instance: str = "",
        clock: Callable[[], float] = time.time,
        correlator: EventCorrelator | None = None,
    ) -> None:
        super().__init__(f"events-{component}")
        self.client = client
        self.component = component
        self.host = host
        self.instance = instance or component
        self.clock = clock
        self.correlator = correlator or EventCorrelator(clock=clock)
        self._queue: OrderedDict[tuple[str, str], tuple[bool, Obj]] = OrderedDict()
        """(namespace, name) → (whether the Event exists already, its newest state)."""
        self.events_written = 0
        """Events created or written back with a new count."""
        self.events_skipped = 0
        """Events dropped by the spam filter."""
        self._last_ns = 0

    def _nanoseconds(self, now: float) -> int:
        """``now`` in Unix nanoseconds, made larger than the last one this recorder used so
        names stay unique when the clock did not move between two events."""
        ns = max(int(now * 1e9), self._last_ns + 1)
        self._last_ns = ns
        return ns

    def event(
        self,
        obj: Mapping[str, Any],
        type_: str,
        reason: str,
        message: str,
        *,
        kind: str = "",
        api_version: str = "",
        action: str | None = None,
        component: str | None = None,
    ) -> None:
        """Record an Event about ``obj`` (``type_`` Normal or Warning); ``component``
        overrides the recorder's for this event (a scheduler profile's name)."""
        now = self.clock()
        ref = object_reference(obj, kind=kind, api_version=api_version)
        source = component or self.component
        stamp = now_rfc3339(now)
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": event_name(str(ref["name"]), self._nanoseconds(now)),
                # Events about cluster-scoped objects live in "default" (client-go).
                "namespace": ref.get("namespace") or "default",
            },
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": source, **({"host": self.host} if self.host else {})},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": source,
            "reportingInstance": self.instance,
        }
        if action is not None:
            event["action"] = action
        result = self.correlator.correlate(event)
        if result.skip or result.event is None:
            self.events_skipped += 1
            return
        ev = result.event
        key = (str(ev["metadata"]["namespace"]), str(ev["metadata"]["name"]))
        queued = self._queue.get(key)
        exists = result.repeat and (queued is None or queued[0])
        self._queue[key] = (exists, ev)
        self.wake()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def flush(self) -> None:
        """Write everything queued so far."""
        queue, self._queue = self._queue, OrderedDict()
        creates: dict[str, list[Obj]] = defaultdict(list)
        updates: list[Obj] = []
        for (ns, _), (exists, ev) in queue.items():
            if exists:
                updates.append(ev)
            else:
                creates[ns].append(ev)
        if updates:
            try:
                result = await self.client.update_many("events", updates)
            except StatusError as e:
                log.warning("writing back %d events failed: %s", len(updates), e)
            else:
                for ev, err in zip(updates, result.errors, strict=True):
                    if err is None:
                        self.events_written += 1
                    elif err.reason == Reason.NOT_FOUND:
                        creates[str(ev["metadata"]["namespace"])].append(ev)
                    else:
                        log.warning("writing back an event failed: %s", err)
        for ns, objs in creates.items():
            try:
                result = await self.client.create_many("events", ns, objs)
            except StatusError as e:
                log.warning("writing %d events in %s failed: %s", len(objs), ns, e)
                continue
            for err in result.errors:
                if err is None:
                    self.events_written += 1
                elif err.reason != Reason.NOT_FOUND:  # the namespace went away
                    log.warning("writing an event failed: %s", err)
