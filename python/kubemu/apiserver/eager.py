"""Eager start of coroutines (as Python 3.12's eager tasks): :func:`run_eager` runs a coroutine
in the caller until it first suspends, and only then hands it to a task. The gRPC server runs
each multiplexed call this way: the core's verbs mostly finish without suspending, so most
calls cost no task."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["run_eager"]


class _Yield:
    """Awaiting it yields ``value`` to the task running the awaiting coroutine (what the
    awaited coroutine yielded: a future to wait for, or None) and returns what is sent back."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self.value)


async def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Continue ``coro`` (suspended, having yielded ``yielded``) inside the running task:
    every yield passes through to the task, and what the task sends or throws (a
    cancellation) goes back in."""
    while True:
        try:
            sent = await _Yield(yielded)
        except BaseException as e:  # thrown into the task (a cancellation): into coro
            try:
                yielded = coro.throw(e)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = coro.send(sent)
        except StopIteration as stop:
            return stop.value


def run_eager(coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
    """Start ``coro`` now, in the caller (as Python 3.12's eager tasks do): None if it ran
    to the end without suspending (its result and any exception are dropped: pass a
    coroutine that records them itself), else the task that carries it on."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_resume(coro, yielded))
