"""Work queues with client-go's semantics (``k8s.io/client-go/util/workqueue``), for asyncio.

* :class:`Queue`: a deduplicating FIFO. An item is at most once in the queue (the *dirty* set);
  an item handed out by :meth:`Queue.get` is *processing* until :meth:`Queue.done`; adding it
  meanwhile marks it dirty only, and ``done()`` puts it back in the queue, so one item is never
  processed by two workers at once and no change is lost.
* :class:`DelayingQueue`: adds :meth:`DelayingQueue.add_after` (an item waiting for several
  deadlines keeps the earliest).
* :class:`RateLimitingQueue`: adds :meth:`RateLimitingQueue.add_rate_limited`,
  :meth:`RateLimitingQueue.forget` and :meth:`RateLimitingQueue.num_requeues` over a
  :class:`RateLimiter`.

Rate limiters: :class:`ItemExponentialFailureRateLimiter` (per item, ``base * 2**failures`` up
to a maximum), :class:`ItemFastSlowRateLimiter`, :class:`BucketRateLimiter` (a token bucket
shared by all items, as ``golang.org/x/time/rate``), :class:`MaxOfRateLimiter`;
:func:`default_controller_rate_limiter` is client-go's ``DefaultControllerRateLimiter``
(5 ms → 1000 s per item, and 10 qps with a burst of 100 overall) and
:func:`pod_backoff_rate_limiter` the scheduler's pod backoff (1 s → 10 s).

Time comes from a :class:`Clock`: :class:`RealClock` (the event loop's timers) by default,
:class:`FakeClock` in tests (time moves only when the test calls :meth:`FakeClock.advance`).

The queues are asyncio-safe, not thread-safe: use them from one event loop. Items must be
hashable (controllers queue ``"namespace/name"`` keys).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

__all__ = [
    "BucketRateLimiter",
    "Clock",
    "DelayingQueue",
    "FakeClock",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "Queue",
    "RateLimiter",
    "RateLimitingQueue",
    "RealClock",
    "ShutDown",
    "TimerHandle",
    "default_controller_rate_limiter",
    "pod_backoff_rate_limiter",
]

T = TypeVar("T", bound=Hashable)
T_contra = TypeVar("T_contra", bound=Hashable, contravariant=True)


class ShutDown(Exception):
    """Raised by :meth:`Queue.get` once the queue is shut down and empty."""


# ---------------------------------------------------------------------------------------------
# Clocks


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Where the queues and rate limiters read time and set timers (seconds)."""

    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...


class RealClock:
    """Monotonic time and the running event loop's timers."""

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock for tests: ``now()`` moves only with :meth:`advance`, which runs the timers that
    fall due, in deadline order, each seeing ``now()`` equal to its deadline."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _FakeTimer(self._now + max(delay, 0.0), callback)
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        return timer

    def advance(self, seconds: float) -> None:
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            timer.callback()
        self._now = target

    @property
    def pending(self) -> int:
        """Timers not yet fired nor cancelled."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    def next_deadline(self) -> float | None:
        """The earliest pending timer's deadline, if any."""
        live = [w for w, _, t in self._timers if not t.cancelled]
        return min(live) if live else None


# ---------------------------------------------------------------------------------------------
# Queues


class Queue(Generic[T]):
    """client-go's ``workqueue.Interface``: deduplicating, with processing and dirty sets."""

    def __init__(self) -> None:
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._drained: list[asyncio.Future[None]] = []
        self._shutting_down = False
        self._drain = False

    def add(self, item: T) -> None:
        """Queue ``item`` unless it is already queued; while it is processing, only mark it
        dirty (:meth:`done` queues it again). Ignored once shut down."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake_one()

    def __len__(self) -> int:
        """Items waiting in the queue (not those processing)."""
        return len(self._queue)

    def len(self) -> int:
        return len(self._queue)

    async def get(self) -> T:
        """The next item, marked processing; waits while the queue is empty. After
        :meth:`shutdown`, items still queued are handed out, then :class:`ShutDown` is raised."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._wake_one()  # woken, then cancelled: pass the wake-up on
                else:
                    try:
                        self._waiters.remove(fut)
                    except ValueError:
                        pass
                raise
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: T) -> None:
        """Processing of ``item`` is over; if it was added meanwhile, queue it again."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()
        elif not self._processing and self._drained:
            for fut in self._drained:
                if not fut.done():
                    fut.set_result(None)
            self._drained.clear()

    def shutdown(self) -> None:
        """Stop accepting items; getters wake up (and get :class:`ShutDown` once the queue is
        empty)."""
        self._shutting_down = True
        self._on_shutdown()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    shut_down = shutdown

    async def shutdown_with_drain(self) -> None:
        """:meth:`shutdown`, then wait until every item being processed is done."""
        self._drain = True
        self.shutdown()
        while self._processing and self._drain:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._drained.append(fut)
            await fut

    shut_down_with_drain = shutdown_with_drain

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def is_processing(self, item: T) -> bool:
        return item in self._processing

    def _wake_one(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _on_shutdown(self) -> None:
        """Hook for subclasses."""


class DelayingQueue(Queue[T]):
    """A :class:`Queue` with :meth:`add_after`."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock: Clock = clock if clock is not None else RealClock()
        self._waiting: dict[T, tuple[float, TimerHandle]] = {}

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` after ``delay`` seconds (now if ``delay <= 0``). An item already waiting
        keeps the earlier of its two deadlines."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self.clock.now() + delay
        waiting = self._waiting.get(item)
        if waiting is not None:
            if waiting[0] <= ready_at:
                return
            waiting[1].cancel()
        handle = self.clock.call_later(delay, lambda: self._fire(item))
        self._waiting[item] = (ready_at, handle)

    @property
    def waiting(self) -> int:
        """Items waiting for their deadline."""
        return len(self._waiting)

    def _fire(self, item: T) -> None:
        self._waiting.pop(item, None)
        self.add(item)

    def _on_shutdown(self) -> None:
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()


# ---------------------------------------------------------------------------------------------
# Rate limiters


class RateLimiter(Protocol[T_contra]):
    def when(self, item: T_contra) -> float:
        """How long ``item`` should wait before it is processed again (seconds)."""
        ...

    def forget(self, item: T_contra) -> None:
        """Stop tracking ``item`` (it was processed successfully)."""
        ...

    def num_requeues(self, item: T_contra) -> int: ...


class ItemExponentialFailureRateLimiter(Generic[T]):
    """``base * 2**failures`` per item, capped at ``max_delay`` (client-go defaults 5 ms and
    1000 s): 5 ms, 10 ms, 20 ms, ..."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        if exp >= 64:
            return self.max_delay
        delay = self.base_delay * (1 << exp)
        return min(delay, self.max_delay)

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class ItemFastSlowRateLimiter(Generic[T]):
    """``fast_delay`` for the first ``max_fast_attempts`` failures of an item, then
    ``slow_delay``."""

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        n = self._failures.get(item, 0) + 1
        self._failures[item] = n
        return self.fast_delay if n <= self.max_fast_attempts else self.slow_delay

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter(Generic[T]):
    """A token bucket shared by all items (``golang.org/x/time/rate.Limiter.Reserve``): the
    bucket holds up to ``burst`` tokens and refills at ``qps``; each ``when()`` takes a token,
    going into debt when empty, and returns how long until that token exists."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        self.qps = qps
        self.burst = burst
        self.clock: Clock = clock if clock is not None else RealClock()
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: T) -> float:
        now = self.clock.now()
        if self._last is not None and now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        if self._last is None or now > self._last:
            self._last = now
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.qps

    def forget(self, item: T) -> None:
        pass

    def num_requeues(self, item: T) -> int:
        return 0


class MaxOfRateLimiter(Generic[T]):
    """The longest delay of several limiters (each one is asked, so each counts the failure)."""

    def __init__(self, *limiters: RateLimiter[T]) -> None:
        self.limiters = limiters

    def when(self, item: T) -> float:
        return max((lim.when(item) for lim in self.limiters), default=0.0)

    def forget(self, item: T) -> None:
        for lim in self.limiters:
            lim.forget(item)

    def num_requeues(self, item: T) -> int:
        return max((lim.num_requeues(item) for lim in self.limiters), default=0)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter[T]:
    """client-go's ``DefaultControllerRateLimiter``: per-item exponential 5 ms → 1000 s, and an
    overall token bucket of 10 qps with a burst of 100."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock),
    )


def pod_backoff_rate_limiter(
    initial: float = 1.0, maximum: float = 10.0
) -> ItemExponentialFailureRateLimiter[T]:
    """kube-scheduler's pod backoff: 1 s, 2 s, 4 s, 8 s, 10 s, 10 s ... per pod."""
    return ItemExponentialFailureRateLimiter(initial, maximum)


class RateLimitingQueue(DelayingQueue[T]):
    """A :class:`DelayingQueue` whose :meth:`add_rate_limited` waits as the limiter says."""

    def __init__(
        self, rate_limiter: RateLimiter[T] | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(clock)
        self.rate_limiter: RateLimiter[T] = (
            rate_limiter if rate_limiter is not None else default_controller_rate_limiter(clock)
        )

    def add_rate_limited(self, item: T) -> None:
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
