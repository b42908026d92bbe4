"""Watch fan-out: one store watch per resource, shared by every client stream of it.

A hub runs one storage watch on a resource's prefix, reads each event's namespace, labels and
selectable fields once and offers it to the client streams that can match, indexed by the
exact field value they select on (``spec.nodeName=n``, or every name of ``node_names`` for a
node pool), else by namespace. Over the embedded store the hub is a
:class:`~kubemu.apiserver.watch_router.RoutedHub` (the fan-out in Rust, no Python object per
store event); over any other :class:`~kubemu.apiserver.storage.Storage` (or a kind whose fields
only a decode reads) it is the Python :class:`~kubemu.apiserver.watch_hub.ResourceHub`. Both
have the same semantics:

A filter is applied to the new and (for modifications) the previous state, as kube-apiserver's
watch cache does: an object that leaves a stream's selection is sent as DELETED (its previous
content with the event's resourceVersion), one that enters it as ADDED.

The hub keeps the last :attr:`WatchFanout.buffer_size` events, so a client that watches from a
recent resourceVersion (an informer after its list) joins the shared stream; a client from an
older, uncompacted revision gets a private hub on its own store watch. Each client stream has a
bounded queue: one that falls :attr:`WatchFanout.queue_size` events behind is sent an ERROR event
with a Gone Status and closed; the hub never waits for it.

Events carry the stored bytes (:class:`RawObject`), never re-encoded; consumers decode. The
stream, filter and hubs live in ``watch_stream``, ``watch_filter``, ``watch_hub`` and
``watch_router``; this module names them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from kubemu.apiserver.fieldpaths import StateReader
from kubemu.apiserver.storage import EmbeddedStorage, Storage
from kubemu.apiserver.watch_filter import WatchFilter, compile_filter
from kubemu.apiserver.watch_hub import ResourceHub
from kubemu.apiserver.watch_router import RoutedHub
from kubemu.apiserver.watch_stream import (
    ADDED,
    BOOKMARK,
    DELETED,
    ERROR,
    MODIFIED,
    RawObject,
    RawWatchEvent,
    ServerWatch,
    WatchItem,
    item_event,
    watch_events,
)
from kubemu.objects.kinds.base import Kind

if TYPE_CHECKING:
    from kubemu.apiserver.metrics import Metrics

__all__ = [
    "ADDED",
    "BOOKMARK",
    "DELETED",
    "ERROR",
    "MODIFIED",
    "RawObject",
    "RawWatchEvent",
    "ResourceHub",
    "RoutedHub",
    "ServerWatch",
    "WatchFanout",
    "WatchFilter",
    "WatchItem",
    "compile_filter",
    "item_event",
    "watch_events",
]


class WatchFanout:
    """The hubs of every resource, started on their first subscriber."""

    def __init__(
        self,
        storage: Storage,
        *,
        metrics: Metrics | None = None,
        queue_size: int = 10_000,
        buffer_size: int = 10_000,
        bookmark_interval: float = 60.0,
        rust_router: bool = True,
    ) -> None:
        self.storage = storage
        self.metrics = metrics
        self.queue_size = queue_size
        self.buffer_size = buffer_size
        self.bookmark_interval = bookmark_interval
        self.rust_router = rust_router
        """Route in Rust (:class:`RoutedHub`) over the embedded store for the kinds whose
        states :class:`StateReader` reads; False: always the Python :class:`ResourceHub`."""
        self.hubs: dict[Kind, ResourceHub | RoutedHub] = {}
        self._event_counters: dict[Kind, Any] = {}
        self._readers: dict[Kind, StateReader] = {}

    def reader(self, kind: Kind) -> StateReader:
        """The :class:`StateReader` of ``kind`` (one per kind, shared by its hubs)."""
        reader = self._readers.get(kind)
        if reader is None:
            reader = self._readers[kind] = StateReader(kind)
        return reader

    def subscribe(self, stream: ServerWatch) -> None:
        """Attach ``stream`` to the resource's shared hub (starting it), or to a private hub
        from its revision when the shared one no longer covers it."""
        kind = stream.kind
        hub = self.hubs.get(kind)
        start = stream.after_revision + 1
        if hub is None:
            hub = self.hubs[kind] = self._new_hub(kind, start, shared=True)
        elif stream.after_revision < hub.floor:
            hub = self._new_hub(kind, start, shared=False)
        hub.add(stream)

    def _new_hub(self, kind: Kind, start: int, *, shared: bool) -> ResourceHub | RoutedHub:
        storage = self.storage
        if (
            self.rust_router
            and isinstance(storage, EmbeddedStorage)
            and self.reader(kind).supported
        ):
            return RoutedHub(self, kind, start, shared=shared, store=storage.store)
        return ResourceHub(self, kind, start, shared=shared)

    def hub_stopped(self, hub: ResourceHub | RoutedHub) -> None:
        if self.hubs.get(hub.kind) is hub:
            del self.hubs[hub.kind]

    def watchers_changed(self, kind: Kind, delta: int) -> None:
        if self.metrics is not None:
            self.metrics.registered_watchers.labels(kind.group_resource).inc(delta)

    def count_events(self, kind: Kind, n: int) -> None:
        if self.metrics is not None and n:
            counter = self._event_counters.get(kind)
            if counter is None:
                counter = self._event_counters[kind] = self.metrics.watch_events.labels(
                    kind.group_resource
                )
            counter.inc(n)

    async def close(self) -> None:
        for hub in list(self.hubs.values()):
            hub.stop()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await hub.task
