"""Work queues and rate limiters: client-go's semantics, driven by a fake clock (no sleeps)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from kubemu.client.workqueue import (
    BucketRateLimiter,
    DelayingQueue,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    Queue,
    RateLimitingQueue,
    ShutDown,
    default_controller_rate_limiter,
    pod_backoff_rate_limiter,
)


async def settle() -> None:
    """Let every ready task run."""
    for _ in range(5):
        await asyncio.sleep(0)


# -- Queue ----------------------------------------------------------------------------------------


async def test_add_deduplicates_and_keeps_fifo_order() -> None:
    q: Queue[str] = Queue()
    for item in ["a", "b", "a", "c", "b"]:
        q.add(item)
    assert len(q) == 3
    assert [await q.get(), await q.get(), await q.get()] == ["a", "b", "c"]
    assert len(q) == 0


async def test_item_added_while_processing_is_requeued_after_done() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    assert await q.get() == "a"
    assert q.is_processing("a")
    q.add("a")
    q.add("a")
    # Not handed out twice at once: only marked dirty while it is processing.
    assert len(q) == 0
    getter = asyncio.ensure_future(q.get())
    await settle()
    assert not getter.done()
    q.done("a")
    assert await getter == "a"
    q.done("a")
    assert len(q) == 0
    assert not q.is_processing("a")


async def test_done_without_re_add_does_not_requeue() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    await q.get()
    q.done("a")
    assert len(q) == 0
    q.add("a")
    assert len(q) == 1


async def test_get_waits_for_an_item() -> None:
    q: Queue[int] = Queue()
    getter = asyncio.ensure_future(q.get())
    await settle()
    assert not getter.done()
    q.add(7)
    assert await getter == 7


async def test_each_item_goes_to_one_of_several_getters() -> None:
    q: Queue[int] = Queue()
    getters = [asyncio.ensure_future(q.get()) for _ in range(3)]
    await settle()
    q.add(1)
    q.add(2)
    await settle()
    done = [g for g in getters if g.done()]
    assert sorted(g.result() for g in done) == [1, 2]
    q.shutdown()
    with pytest.raises(ShutDown):
        await next(g for g in getters if g not in done)


async def test_shutdown_unblocks_all_getters() -> None:
    q: Queue[str] = Queue()
    getters = [asyncio.ensure_future(q.get()) for _ in range(3)]
    await settle()
    q.shutdown()
    results = await asyncio.gather(*getters, return_exceptions=True)
    assert all(isinstance(r, ShutDown) for r in results)
    assert q.shutting_down


async def test_shutdown_hands_out_queued_items_then_raises_and_ignores_adds() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    q.shutdown()
    q.add("c")
    assert await q.get() == "a"
    assert await q.get() == "b"
    with pytest.raises(ShutDown):
        await q.get()


async def test_cancelled_getter_passes_the_wakeup_on() -> None:
    q: Queue[str] = Queue()
    first = asyncio.ensure_future(q.get())
    second = asyncio.ensure_future(q.get())
    await settle()
    q.add("x")  # wakes `first`...
    first.cancel()  # ... which is cancelled before it runs
    assert await second == "x"
    assert first.cancelled()


async def test_shutdown_with_drain_waits_for_processing_items() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    a = await q.get()
    b = await q.get()
    drain = asyncio.ensure_future(q.shut_down_with_drain())
    await settle()
    assert not drain.done()
    q.done(a)
    await settle()
    assert not drain.done()
    q.done(b)
    await asyncio.wait_for(drain, 5)
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_with_drain_returns_at_once_when_idle() -> None:
    q: Queue[str] = Queue()
    await asyncio.wait_for(q.shutdown_with_drain(), 5)
    assert q.shutting_down


# -- DelayingQueue --------------------------------------------------------------------------------


async def test_add_after_waits_for_the_clock() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock)
    q.add_after("a", 5.0)
    assert len(q) == 0
    assert q.waiting == 1
    clock.advance(4.999)
    assert len(q) == 0
    clock.advance(0.001)
    assert len(q) == 1
    assert q.waiting == 0
    assert await q.get() == "a"


async def test_add_after_keeps_the_earliest_deadline() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock)
    q.add_after("a", 10.0)
    q.add_after("a", 2.0)  # earlier: replaces
    q.add_after("b", 2.0)
    q.add_after("b", 10.0)  # later: ignored
    assert clock.pending == 2
    clock.advance(2.0)
    assert len(q) == 2
    assert q.waiting == 0
    assert clock.pending == 0


async def test_add_after_zero_adds_now_and_getter_wakes_on_timer() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock)
    q.add_after("now", 0)
    assert len(q) == 1
    assert await q.get() == "now"
    getter = asyncio.ensure_future(q.get())
    q.add_after("later", 1.0)
    await settle()
    assert not getter.done()
    clock.advance(1.0)
    assert await getter == "later"


async def test_shutdown_drops_waiting_items() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock)
    q.add_after("a", 1.0)
    q.shutdown()
    clock.advance(2.0)
    assert len(q) == 0
    q.add_after("b", 1.0)
    assert q.waiting == 0


async def test_real_clock_delaying_queue_delivers() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("a", 0.001)
    assert await asyncio.wait_for(q.get(), 5) == "a"


# -- rate limiters --------------------------------------------------------------------------------


def test_item_exponential_sequence_and_forget() -> None:
    rl: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter()
    delays = [rl.when("a") for _ in range(5)]
    assert delays == pytest.approx([0.005, 0.010, 0.020, 0.040, 0.080])
    assert rl.num_requeues("a") == 5
    assert rl.when("b") == pytest.approx(0.005)  # per item
    rl.forget("a")
    assert rl.num_requeues("a") == 0
    assert rl.when("a") == pytest.approx(0.005)


def test_item_exponential_caps_at_max_without_overflow() -> None:
    rl: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(0.005, 1000.0)
    delays = [rl.when("a") for _ in range(200)]
    assert delays[17] == pytest.approx(655.36)
    assert delays[18] == 1000.0
    assert delays[-1] == 1000.0


def test_pod_backoff_one_to_ten_seconds() -> None:
    rl: ItemExponentialFailureRateLimiter[str] = pod_backoff_rate_limiter()
    assert [rl.when("pod") for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_fast_slow() -> None:
    rl: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.1, 5.0, 2)
    assert [rl.when("a") for _ in range(4)] == [0.1, 0.1, 5.0, 5.0]
    assert rl.num_requeues("a") == 4
    rl.forget("a")
    assert rl.when("a") == 0.1


def test_bucket_burst_then_qps() -> None:
    clock = FakeClock()
    rl: BucketRateLimiter[str] = BucketRateLimiter(10.0, 100, clock)
    assert all(rl.when(f"i{i}") == 0.0 for i in range(100))
    assert rl.when("x") == pytest.approx(0.1)
    assert rl.when("y") == pytest.approx(0.2)
    clock.advance(1.0)  # +10 tokens: the debt of 2 is paid, 8 left
    assert all(rl.when(f"j{i}") == 0.0 for i in range(8))
    assert rl.when("z") == pytest.approx(0.1)
    clock.advance(1000.0)  # refills up to the burst only
    assert all(rl.when(f"k{i}") == 0.0 for i in range(100))
    assert rl.when("w") == pytest.approx(0.1)
    assert rl.num_requeues("w") == 0


def test_default_controller_rate_limiter_is_max_of_both() -> None:
    clock = FakeClock()
    rl: MaxOfRateLimiter[str] = default_controller_rate_limiter(clock)
    assert rl.when("a") == pytest.approx(0.005)
    assert rl.when("a") == pytest.approx(0.010)
    assert rl.num_requeues("a") == 2
    for i in range(98):
        rl.when(f"other{i}")
    # The bucket's burst of 100 is spent: its 0.1 s beats the item's 5 ms.
    assert rl.when("b") == pytest.approx(0.1)
    rl.forget("a")
    assert rl.num_requeues("a") == 0


# -- RateLimitingQueue ----------------------------------------------------------------------------


async def test_rate_limiting_queue_requeues_with_growing_delays() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(ItemExponentialFailureRateLimiter(), clock)
    seen_at: list[float] = []
    for _ in range(4):
        q.add_rate_limited("key")
        assert len(q) == 0
        deadline = clock.next_deadline()
        assert deadline is not None
        clock.advance(deadline - clock.now())
        assert len(q) == 1
        seen_at.append(clock.now())
        item = await q.get()
        q.done(item)
    gaps = [seen_at[0]] + [b - a for a, b in itertools.pairwise(seen_at)]
    assert gaps == pytest.approx([0.005, 0.010, 0.020, 0.040])
    assert q.num_requeues("key") == 4
    q.forget("key")
    assert q.num_requeues("key") == 0
    q.add_rate_limited("key")
    assert clock.next_deadline() == pytest.approx(clock.now() + 0.005)


async def test_rate_limiting_queue_default_limiter() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    q.add_rate_limited("a")
    clock.advance(0.005)
    assert await q.get() == "a"
