"""``run_eager``: a coroutine runs in the caller until it first suspends, then as a task, with
exceptions and cancellation passed into it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubemu.apiserver.eager import run_eager


def test_run_eager_finishes_a_coroutine_that_does_not_suspend() -> None:
    done: list[int] = []

    async def quick() -> None:
        done.append(1)

    async def main() -> Any:
        return run_eager(quick())

    assert asyncio.run(main()) is None
    assert done == [1]


def test_run_eager_continues_a_suspended_coroutine_as_a_task() -> None:
    steps: list[str] = []

    async def slow(release: asyncio.Future[str]) -> str:
        steps.append("started")
        value = await release  # suspends: the rest runs in the task
        await asyncio.sleep(0)  # a bare yield passes through too
        steps.append(value)
        return value

    async def main() -> None:
        release: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = run_eager(slow(release))
        assert task is not None and steps == ["started"]  # ran up to its first await, now
        release.set_result("released")
        assert await task == "released"
        assert steps == ["started", "released"]

    asyncio.run(main())


def test_run_eager_passes_exceptions_and_cancellation_into_the_coroutine() -> None:
    seen: list[str] = []

    async def failing(f: asyncio.Future[None]) -> None:
        await f

    async def cancellable(f: asyncio.Future[None]) -> None:
        try:
            await f
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main() -> None:
        loop = asyncio.get_running_loop()
        f1: asyncio.Future[None] = loop.create_future()
        t1 = run_eager(failing(f1))
        assert t1 is not None
        f1.set_exception(ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            await t1
        f2: asyncio.Future[None] = loop.create_future()
        t2 = run_eager(cancellable(f2))
        assert t2 is not None
        await asyncio.sleep(0)
        t2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t2
        assert seen == ["cancelled"]

    asyncio.run(main())
