"""Event handler registrations of a :class:`~kubemu.client.informer.SharedInformer`
(client-go's ``processorListener``): the handlers of one ``add_event_handler`` call, with an
optional filter; called inline when they are all plain callables, else fed in event order
from the registration's own queue by its own task, so a slow handler delays only itself. A
handler that raises is logged; the informer carries on."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubemu.client.indexer import DeletedFinalStateUnknown
from kubemu.client.interface import Obj

if TYPE_CHECKING:
    from kubemu.client.informer import SharedInformer

__all__ = [
    "AddHandler",
    "DeleteHandler",
    "FilterFunc",
    "HandlerRegistration",
    "Notification",
    "UpdateHandler",
]

log = logging.getLogger("kubemu.client.informer")

AddHandler = Callable[[Obj], Any]
UpdateHandler = Callable[[Obj, Obj], Any]
DeleteHandler = Callable[[Obj | DeletedFinalStateUnknown], Any]
FilterFunc = Callable[[Obj | DeletedFinalStateUnknown], bool]


@dataclass
class Notification:
    """One change for the handlers: ``kind`` "add" (``new``), "update" (``old``, ``new``),
    "delete" (``old``: the object or its tombstone) or "synced" (the first list is in)."""

    kind: str
    old: Any = None
    new: Any = None


class HandlerRegistration:
    """One set of handlers on an informer (``add_event_handler``'s result)."""

    def __init__(
        self,
        informer: SharedInformer,
        on_add: AddHandler | None,
        on_update: UpdateHandler | None,
        on_delete: DeleteHandler | None,
        filter_func: FilterFunc | None,
    ) -> None:
        self._informer = informer
        self.on_add = on_add
        self.on_update = on_update
        self.on_delete = on_delete
        self.filter_func = filter_func
        self.is_async = any(
            inspect.iscoroutinefunction(h) for h in (on_add, on_update, on_delete) if h
        )
        self._synced = False
        self._synced_event = asyncio.Event()
        self._pending: deque[Notification] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stray: set[asyncio.Future[Any]] = set()

    def has_synced(self) -> bool:
        """True once this registration has been given every object of the informer's first
        list (for an async registration: once its handlers have run on them)."""
        return self._synced

    async def wait_for_sync(self) -> None:
        await self._synced_event.wait()

    # -- delivery -----------------------------------------------------------------------------

    def _notify(self, n: Notification) -> None:
        if self.filter_func is not None and n.kind != "synced":
            filtered = self._filtered(n)
            if filtered is None:
                return
            n = filtered
        if self.is_async:
            self._pending.append(n)
            self._wakeup.set()
            self._ensure_task()
        else:
            self._deliver_sync(n)

    def _filtered(self, n: Notification) -> Notification | None:
        """client-go's ``FilteringResourceEventHandler``: an update that enters the filter is an
        add, one that leaves it a delete."""
        f = self.filter_func
        assert f is not None
        if n.kind == "update":
            old_ok, new_ok = f(n.old), f(n.new)
            if old_ok and new_ok:
                return n
            if new_ok:
                return Notification("add", new=n.new)
            if old_ok:
                return Notification("delete", old=n.new)
            return None
        obj = n.new if n.kind == "add" else n.old
        return n if f(obj) else None

    def _call(self, n: Notification) -> Any:
        if n.kind == "add":
            if self.on_add is not None:
                return self.on_add(n.new)
        elif n.kind == "update":
            if self.on_update is not None:
                return self.on_update(n.old, n.new)
        elif n.kind == "delete":
            if self.on_delete is not None:
                return self.on_delete(n.old)
        elif n.kind == "synced":
            self._synced = True
            self._synced_event.set()
        return None

    def _deliver_sync(self, n: Notification) -> None:
        try:
            result = self._call(n)
        except Exception:
            log.exception("%s: %s handler failed", self._informer.name, n.kind)
            return
        if inspect.isawaitable(result):
            fut = asyncio.ensure_future(result)
            self._stray.add(fut)
            fut.add_done_callback(self._stray_done)

    def _stray_done(self, fut: asyncio.Future[Any]) -> None:
        self._stray.discard(fut)
        if not fut.cancelled() and fut.exception() is not None:
            log.error("%s: handler failed", self._informer.name, exc_info=fut.exception())

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"informer-handler:{self._informer.name}"
            )

    async def _run(self) -> None:
        while True:
            while self._pending:
                n = self._pending.popleft()
                try:
                    result = self._call(n)
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: %s handler failed", self._informer.name, n.kind)
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _stop(self) -> None:
        tasks: list[asyncio.Future[Any]] = list(self._stray)
        if self._task is not None:
            tasks.append(self._task)
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self._task = None
        self._pending.clear()
