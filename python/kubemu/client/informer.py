"""Informers: a local cache of one resource kept current by list + watch (client-go's
``SharedIndexInformer`` and ``Reflector``, in asyncio).

:class:`SharedInformer` lists the resource (paginated, as client-go's pager: ``limit`` pages
with ``continue``, falling back to one full list if the continue token expires), stores the
objects in an :class:`~kubemu.client.indexer.Indexer`, then watches from the list's
resourceVersion with bookmarks:

* ADDED/MODIFIED/DELETED update the cache and call the handlers; BOOKMARK only advances the
  resourceVersion to resume from;
* a watch that ends (server timeout, dropped stream, error) is reopened from the last
  resourceVersion seen, after a backoff if it ended badly or very soon (client-go's
  0.8 s doubling to 30 s, jittered up to x2, reset after 2 minutes without trouble);
* ``Gone``/``Expired`` (410: the resourceVersion was compacted, or the server dropped a slow
  stream with an ERROR Gone event) makes it relist, and the relist is delivered as a diff
  against the cache: ``on_add`` for new objects, ``on_update`` for changed ones (unchanged
  resourceVersion: no call), ``on_delete`` with a
  :class:`~kubemu.client.indexer.DeletedFinalStateUnknown` for objects that vanished.

Selectors (label, field, ``node_names``) in the informer's :class:`ListOptions` are applied by
the server, on the list and on the watch (an object that leaves the selection arrives as a
DELETED event).

Handlers (``on_add(obj)``, ``on_update(old, new)``, ``on_delete(obj_or_tombstone)``) are
plain callables or coroutine functions. A registration whose handlers are all plain callables
is called inline, in event order, as the event is applied; a registration with a coroutine
handler gets its own queue and task, so a slow handler delays only itself (client-go's
per-listener buffer), in event order. A handler that raises is logged; the informer carries
on. Cached objects are shared: handlers and listers must not change them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Final, Self

from kubemu.client.indexer import (
    DeletedFinalStateUnknown,
    Indexer,
    IndexFunc,
    Lister,
    meta_namespace_key,
)
from kubemu.client.informer_handlers import (
    AddHandler,
    DeleteHandler,
    FilterFunc,
    HandlerRegistration,
    Notification,
    UpdateHandler,
)
from kubemu.client.interface import (
    Client,
    EventType,
    ListOptions,
    Obj,
    WatchEvent,
    WatchStream,
)
from kubemu.objects.errors import Reason, StatusError

__all__ = [
    "Backoff",
    "HandlerRegistration",
    "InformerFactory",
    "SharedInformer",
    "is_gone",
]

log = logging.getLogger(__name__)


_MIN_WATCH_TIMEOUT: Final = 300
_SHORT_WATCH: Final = 1.0


def is_gone(err: BaseException) -> bool:
    """True for a 410: the resourceVersion asked for was compacted (relist)."""
    return isinstance(err, StatusError) and (
        err.reason in (Reason.GONE, Reason.EXPIRED) or err.code == 410
    )


class Backoff:
    """client-go's reflector backoff: ``initial`` doubling up to ``cap``, each delay jittered
    by up to ``jitter`` times itself; back to ``initial`` after ``reset_after`` seconds without a
    backoff."""

    def __init__(
        self,
        initial: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.reset_after = reset_after
        self._rng = rng
        self._clock = clock
        self._duration = initial
        self._last: float | None = None

    def next(self) -> float:
        """The next delay (and step the sequence)."""
        now = self._clock()
        if self._last is not None and now - self._last > self.reset_after:
            self._duration = self.initial
        self._last = now
        duration = self._duration
        self._duration = min(self._duration * self.factor, self.cap)
        if self.jitter > 0:
            duration += self._rng() * self.jitter * duration
        return duration

    async def wait(self) -> None:
        await asyncio.sleep(self.next())


class _Relist(Exception):
    """The watch found its resourceVersion gone: list again."""


class SharedInformer:
    """List + watch one resource into an indexed cache and call handlers on changes.

    ``options`` carries the selectors (``label_selector``, ``field_selector``,
    ``node_names``); its paging and resourceVersion fields are the informer's business and are
    ignored. ``resync_period`` (seconds) re-delivers every cached object as
    ``on_update(obj, obj)`` periodically, as client-go's resync. ``page_size`` is the list page
    (``limit``); 0 lists in one go.
    """

    def __init__(
        self,
        client: Client,
        resource: str,
        namespace: str = "",
        options: ListOptions | None = None,
        *,
        resync_period: float | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        page_size: int = 500,
        backoff: Backoff | None = None,
        name: str = "",
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.options = options if options is not None else ListOptions()
        self.resync_period = resync_period
        self.page_size = page_size
        self.backoff = backoff if backoff is not None else Backoff()
        self.name = name or (f"{resource}/{namespace}" if namespace else resource)
        self.indexer = Indexer(indexers, meta_namespace_key)
        self.lister = Lister(self.indexer)
        self._registrations: list[HandlerRegistration] = []
        self._synced = False
        self._synced_event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._resync_task: asyncio.Task[None] | None = None
        self._last_rv = ""
        self._watch_events = 0
        self.list_count = 0
        """Lists done (the first one and each relist)."""
        self.watch_count = 0
        """Watches opened."""

    # -- handlers and indexes -----------------------------------------------------------------

    def add_event_handler(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
        *,
        filter_func: FilterFunc | None = None,
    ) -> HandlerRegistration:
        """Register handlers. Added to a synced informer, the registration first gets
        ``on_add`` for every cached object. ``filter_func`` restricts the objects the handlers
        see (an update into the filter arrives as an add, out of it as a delete)."""
        reg = HandlerRegistration(self, on_add, on_update, on_delete, filter_func)
        self._registrations.append(reg)
        if self._synced:
            for obj in self.indexer.list():
                reg._notify(Notification("add", new=obj))
            reg._notify(Notification("synced"))
        return reg

    async def remove_event_handler(self, registration: HandlerRegistration) -> None:
        if registration in self._registrations:
            self._registrations.remove(registration)
        await registration._stop()

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.indexer.add_indexers(indexers)

    def add_field_index(self, path: str) -> str:
        """Index the cache on a field path (``spec.nodeName``); returns the index name."""
        return self.indexer.add_field_index(path)

    def add_label_index(self, key: str) -> str:
        """Index the cache on a label key; returns the index name (the lister uses it)."""
        return self.indexer.add_label_index(key)

    # -- state --------------------------------------------------------------------------------

    def has_synced(self) -> bool:
        """True once the first list is in the cache (and was handed to the handlers)."""
        return self._synced

    @property
    def last_sync_resource_version(self) -> str:
        """The resourceVersion the informer would resume watching from."""
        return self._last_rv

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until the cache is synced and every registration has synced; False on
        timeout (or if the informer stopped first)."""

        async def synced() -> None:
            await self._event().wait()
            for reg in list(self._registrations):
                await reg.wait_for_sync()

        try:
            await asyncio.wait_for(synced(), timeout)
        except TimeoutError:
            return False
        return True

    def _event(self) -> asyncio.Event:
        if self._synced_event is None:
            self._synced_event = asyncio.Event()
            if self._synced:
                self._synced_event.set()
        return self._synced_event

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Start (idempotent) and return the informer's task."""
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._event()
            self._task = loop.create_task(self.run(), name=f"informer:{self.name}")
            if self.resync_period:
                self._resync_task = loop.create_task(
                    self._resync_loop(self.resync_period), name=f"informer-resync:{self.name}"
                )
        return self._task

    async def stop(self) -> None:
        """Stop watching and delivering (pending async notifications are dropped)."""
        for task in (self._task, self._resync_task):
            if task is not None and not task.done():
                task.cancel()
        for task in (self._task, self._resync_task):
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:
                    log.exception("%s: informer task failed", self.name)
        self._task = self._resync_task = None
        for reg in self._registrations:
            await reg._stop()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def run(self) -> None:
        """List and watch until cancelled."""
        need_list = True
        while True:
            started = asyncio.get_running_loop().time()
            self._watch_events = 0
            try:
                if need_list:
                    await self._list()
                    need_list = False
                    started = asyncio.get_running_loop().time()
                await self._watch()
                if self._short_watch(started):
                    log.debug("%s: very short watch, backing off", self.name)
                    await self.backoff.wait()
            except _Relist:
                log.debug("%s: resourceVersion %s gone, relisting", self.name, self._last_rv)
                need_list = True
                if self._short_watch(started):
                    await self.backoff.wait()
            except asyncio.CancelledError:
                raise
            except StatusError as err:
                if need_list:
                    log.warning("%s: list failed: %s", self.name, err)
                else:
                    log.warning("%s: watch failed: %s", self.name, err)
                await self.backoff.wait()
            except Exception:
                log.exception("%s: list/watch failed", self.name)
                await self.backoff.wait()

    def _short_watch(self, started: float) -> bool:
        """A watch that ended within a second without an event (client-go's "very short
        watch"): something is wrong, do not hammer the server."""
        elapsed = asyncio.get_running_loop().time() - started
        return self._watch_events == 0 and elapsed < _SHORT_WATCH

    # -- list ---------------------------------------------------------------------------------

    def _selection(self) -> ListOptions:
        o = self.options
        return ListOptions(
            label_selector=o.label_selector,
            field_selector=o.field_selector,
            node_names=o.node_names,
        )

    async def _list(self) -> None:
        base = self._selection()
        items: list[Obj] = []
        opts = replace(base, limit=self.page_size)
        rv = ""
        while True:
            try:
                page = await self.client.list(self.resource, self.namespace, opts)
            except StatusError as err:
                if opts.continue_ and is_gone(err):
                    # The pager's FullListIfExpired: the continue token outlived its revision.
                    log.debug("%s: continue token expired, listing in one go", self.name)
                    items.clear()
                    opts = base
                    continue
                raise
            if not rv or not opts.continue_:
                rv = page.resource_version
            items.extend(page.items)
            if not page.continue_:
                break
            opts = replace(opts, continue_=page.continue_)
        self.list_count += 1
        self._replace(items, rv)

    def _replace(self, items: list[Obj], rv: str) -> None:
        """Bring the cache to the list's content and tell the handlers the difference."""
        indexer = self.indexer
        key_func = indexer.key_func
        seen: set[str] = set()
        for obj in items:
            key = key_func(obj)
            seen.add(key)
            old = indexer.put(key, obj)
            if old is None:
                self._distribute(Notification("add", new=obj))
            elif _rv(old) != _rv(obj):
                self._distribute(Notification("update", old=old, new=obj))
        if len(indexer) > len(seen):
            for key in [k for k in indexer.list_keys() if k not in seen]:
                old = indexer.delete_key(key)
                if old is not None:
                    self._distribute(Notification("delete", old=DeletedFinalStateUnknown(key, old)))
        self._last_rv = rv
        if not self._synced:
            self._synced = True
            self._distribute(Notification("synced"))
            self._event().set()

    def _distribute(self, n: Notification) -> None:
        for reg in self._registrations:
            reg._notify(n)

    # -- watch --------------------------------------------------------------------------------

    async def _watch(self) -> None:
        """One watch, until it ends (events applied are counted in ``_watch_events``). Raises
        _Relist on Gone, StatusError on other errors."""
        opts = replace(
            self._selection(),
            resource_version=self._last_rv,
            allow_watch_bookmarks=True,
            timeout_seconds=self.options.timeout_seconds
            or int(_MIN_WATCH_TIMEOUT * (1 + random.random())),
        )
        try:
            stream: WatchStream = await self.client.watch(self.resource, self.namespace, opts)
        except StatusError as err:
            if is_gone(err):
                raise _Relist from err
            raise
        self.watch_count += 1
        try:
            batches = getattr(stream, "batches", None)
            if batches is not None:  # one await per batch of events, not per event
                async with contextlib.aclosing(batches()) as gen:
                    async for batch in gen:
                        for event in batch:
                            self._apply(event)
            else:
                async for event in stream:
                    self._apply(event)
        finally:
            try:
                await stream.close()
            except Exception:
                log.debug("%s: closing the watch failed", self.name, exc_info=True)

    def _apply(self, event: WatchEvent) -> None:
        """One watch event into the cache and to the handlers (ERROR: _Relist on Gone, else
        its StatusError)."""
        etype = event.type
        if etype == EventType.ERROR:
            status_err = StatusError.from_status(event.object)
            if is_gone(status_err):
                raise _Relist from status_err
            raise status_err
        obj = event.object
        rv = _rv(obj)
        if etype == EventType.BOOKMARK:
            if rv:
                self._last_rv = rv
            return
        key = self.indexer.key_func(obj)
        if etype == EventType.DELETED:
            self.indexer.delete_key(key)
            self._distribute(Notification("delete", old=obj))
        else:  # ADDED, MODIFIED
            old = self.indexer.put(key, obj)
            if old is None:
                self._distribute(Notification("add", new=obj))
            else:
                self._distribute(Notification("update", old=old, new=obj))
        if rv:
            self._last_rv = rv
        self._watch_events += 1

    # -- resync -------------------------------------------------------------------------------

    async def _resync_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            if not self._synced:
                continue
            for obj in self.indexer.list():
                self._distribute(Notification("update", old=obj, new=obj))


def _rv(obj: Obj) -> str:
    rv: str = (obj.get("metadata") or {}).get("resourceVersion") or ""
    return rv


class InformerFactory:
    """One :class:`SharedInformer` per (resource, namespace, selection), shared by the
    components of a process (client-go's ``SharedInformerFactory``)."""

    def __init__(
        self,
        client: Client,
        *,
        resync_period: float | None = None,
        page_size: int = 500,
    ) -> None:
        self.client = client
        self.resync_period = resync_period
        self.page_size = page_size
        self._informers: dict[tuple[str, str, ListOptions], SharedInformer] = {}

    def informer(
        self, resource: str, namespace: str = "", options: ListOptions | None = None
    ) -> SharedInformer:
        """The shared informer of this resource and selection (created on first use; started
        by :meth:`start` if the factory is already started)."""
        o = options if options is not None else ListOptions()
        key = (
            resource,
            namespace,
            ListOptions(
                label_selector=o.label_selector,
                field_selector=o.field_selector,
                node_names=o.node_names,
            ),
        )
        inf = self._informers.get(key)
        if inf is None:
            inf = SharedInformer(
                self.client,
                resource,
                namespace,
                key[2],
                resync_period=self.resync_period,
                page_size=self.page_size,
            )
            self._informers[key] = inf
        return inf

    @property
    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer not yet running (call again after adding informers)."""
        for inf in self._informers.values():
            inf.start()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until every informer has synced; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                for inf in list(self._informers.values()):
                    await inf.wait_for_sync()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        for inf in self._informers.values():
            await inf.stop()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
