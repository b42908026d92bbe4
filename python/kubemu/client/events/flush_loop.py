"""A background task that writes what a recorder queued: the recorder queues, calls
:meth:`FlushLoop.wake`, and defines :meth:`FlushLoop.flush`; :meth:`FlushLoop.start` runs
``flush`` each time it was woken (one write for everything queued meanwhile) until
:meth:`FlushLoop.stop`, which writes what is left."""

from __future__ import annotations

import asyncio
import logging

__all__ = ["FlushLoop"]

log = logging.getLogger(__name__)


class FlushLoop:
    """Base of the recorders that write in the background (never blocking their callers)."""

    def __init__(self, name: str) -> None:
        self._loop_name = name
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def flush(self) -> None:
        """Write everything queued so far."""
        raise NotImplementedError

    def wake(self) -> None:
        """Something was queued: the background task (if started) flushes soon."""
        self._wakeup.set()

    def start(self) -> None:
        """Flush from a background task until :meth:`stop`."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._loop_name)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: writing failed", self._loop_name)

    async def stop(self) -> None:
        """Stop the background task, then write what is left."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("%s: writing failed", self._loop_name)
