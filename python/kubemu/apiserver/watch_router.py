"""The watch hub over the embedded store: the fan-out runs in Rust.

A :class:`RoutedHub` is :class:`~kubemu.apiserver.watch_hub.ResourceHub` with the per-event work
in :class:`kubemu._core.WatchRouter` (kubemu-objects' ``route``): it takes the store watch's
responses, reads each object's namespace, labels and selectable fields from the stored bytes,
applies every candidate stream's filter to the new and previous state and hands back, per
stream, the ``(type, resourceVersion, bytes)`` items of a whole batch, so this side queues them
with one ``extend`` and one wake-up per stream. No Python object is built per store event;
documents the router cannot read are decoded by :meth:`StateReader.decode` (the same answer the
Python hub gets). Semantics are the Python hub's: the tests compare the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import TYPE_CHECKING

from kubemu._core import WatchRouter
from kubemu.apiserver.watch_stream import ServerWatch
from kubemu.gcpause import gc_paused
from kubemu.objects.errors import StatusError
from kubemu.objects.kinds.base import Kind
from kubemu.store import Store

if TYPE_CHECKING:
    from kubemu.apiserver.watch import WatchFanout

__all__ = ["RoutedHub"]

_STREAM_IDS = itertools.count(1)


class RoutedHub:
    """One store watch of one resource, routed in Rust to :class:`ServerWatch` streams."""

    def __init__(
        self,
        fanout: WatchFanout,
        kind: Kind,
        start_revision: int,
        *,
        shared: bool,
        store: Store,
    ) -> None:
        self.fanout = fanout
        self.kind = kind
        self.shared = shared
        reader = fanout.reader(kind)
        # From a compacted revision the store cancels the watch: _run fails the streams.
        self.router = WatchRouter(
            store,
            kind.prefix(),
            start_revision,
            reader.rules,
            reader.decode,
            buffer_size=fanout.buffer_size,
        )
        self.streams: dict[int, ServerWatch] = {}
        self.ids: dict[ServerWatch, int] = {}
        self.count = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def floor(self) -> int:
        """Every event after this revision is buffered or still to come."""
        return self.router.floor

    @property
    def dispatched(self) -> int:
        return self.router.dispatched

    @property
    def progress_revision(self) -> int:
        return self.router.progress_revision

    def request_progress(self) -> None:
        with contextlib.suppress(Exception):
            self.router.request_progress()

    def add(self, stream: ServerWatch) -> None:
        """Subscribe ``stream`` (its ``after_revision`` ≥ :attr:`floor`): replay the buffered
        events it has not seen, then live ones."""
        sid = next(_STREAM_IDS)
        stream.hub = self
        flt = stream.filter
        replay = self.router.add(
            sid,
            stream.after_revision,
            namespace=flt.namespace,
            fields=[(t.field, t.value, t.equal) for t in flt.fields.terms],
            node_names=flt.node_names,
            labels=[(r.key, r.operator, list(r.values)) for r in flt.labels.requirements],
            labels_nothing=flt.labels.nothing,
        )
        self.streams[sid] = stream
        self.ids[stream] = sid
        self.count += 1
        self.fanout.watchers_changed(self.kind, +1)
        if replay:
            stream.offer_many(replay)

    def remove(self, stream: ServerWatch) -> None:
        sid = self.ids.pop(stream, None)
        if sid is None:
            return
        del self.streams[sid]
        self.router.remove(sid)
        self.count -= 1
        self.fanout.watchers_changed(self.kind, -1)
        if self.count == 0:
            self.stop()

    def stop(self) -> None:
        self.fanout.hub_stopped(self)
        self.router.close()
        self.task.cancel()

    async def _run(self) -> None:
        router = self.router
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        fd = router.fileno()
        loop.add_reader(fd, ready.set)
        try:
            while True:
                # The items made here hold no cycles (see ResourceHub._run).
                with gc_paused(True):
                    out = router.poll()
                    if out is not None:
                        streams = self.streams
                        for sid, items in out:
                            stream = streams.get(sid)
                            if stream is not None:
                                stream.offer_many(items)
                if out is None:
                    if router.ended:
                        break
                    await ready.wait()
                    ready.clear()
            compacted = router.compacted
            if compacted is not None:
                self._fail(StatusError.too_old_resource_version(*compacted))
            else:
                self._fail(StatusError.gone("the watch of the store ended; relist"))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never leave streams hanging
            self._fail(StatusError.internal_error(e))
        finally:
            loop.remove_reader(fd)

    def _fail(self, err: StatusError) -> None:
        self.fanout.hub_stopped(self)
        for s in list(self.streams.values()):
            s.fail(err)
        self.router.close()
