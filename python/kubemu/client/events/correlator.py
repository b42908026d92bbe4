"""Event correlation as client-go's ``tools/record`` does it before an Event reaches the
apiserver: a spam filter per source and object, aggregation of similar events, and counting of
identical ones.

The rules and defaults are client-go's (``events_cache.go``):

- **Counting.** An event identical to one recorded before (same source, involved object incl.
  its uid and fieldPath, type, reason and message) is not created again: the earlier Event is
  written back with ``count`` + 1 and a new ``lastTimestamp`` (same name and
  ``firstTimestamp``).
- **Aggregation.** Events that differ only in their message (same source, involved object,
  type, reason, reporting controller and instance) are counted per 10-minute window (the window
  restarts when no such event came for 10 minutes); from the 10th distinct message on, the event
  is replaced by one whose message is ``(combined from similar events): <message>``, counted as
  one event from then on.
- **Spam filter.** Each source + involved object has a token bucket of 25 events refilled at
  one event per 5 minutes; an event without a token is dropped.

Every cache is an LRU of 4,096 entries. Time comes from the ``clock`` given (seconds, as
``time.time``), so tests can move it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from kubemu.objects.meta import now_rfc3339

__all__ = [
    "AGGREGATE_INTERVAL_SECONDS",
    "AGGREGATE_MAX_EVENTS",
    "COMBINED_PREFIX",
    "LRU_ENTRIES",
    "SPAM_BURST",
    "SPAM_QPS",
    "Correlation",
    "EventCorrelator",
    "event_name",
]

Obj = dict[str, Any]

LRU_ENTRIES: Final = 4096
AGGREGATE_MAX_EVENTS: Final = 10
AGGREGATE_INTERVAL_SECONDS: Final = 600.0
SPAM_BURST: Final = 25
SPAM_QPS: Final = 1.0 / 300.0
COMBINED_PREFIX: Final = "(combined from similar events): "

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A map that forgets its least recently used entry beyond ``size`` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class _TokenBucket:
    """Full at first; ``rate`` tokens per second up to ``burst``."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def try_take(self, now: float) -> bool:
        if now > self.stamp:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class _Aggregate:
    messages: set[str]
    last: float


@dataclass
class _Observed:
    name: str
    count: int
    first_timestamp: str


@dataclass
class Correlation:
    """What to write for one recorded event: nothing (``skip``), a new Event (``repeat``
    False) or the earlier Event of the same key again, with its new count (``repeat``)."""

    event: Obj | None
    repeat: bool = False
    skip: bool = False


def event_name(involved_name: str, nanoseconds: int) -> str:
    """An Event's name as client-go makes it: ``<object name>.<unix nanoseconds in hex>``."""
    return f"{involved_name}.{nanoseconds:x}"


def _involved(event: Obj) -> Obj:
    ref = event.get("involvedObject")
    return ref if isinstance(ref, dict) else {}


def _source(event: Obj) -> tuple[str, str]:
    src = event.get("source")
    src = src if isinstance(src, dict) else {}
    return str(src.get("component") or ""), str(src.get("host") or "")


def _object_key(event: Obj) -> tuple[str, ...]:
    ref = _involved(event)
    return (
        *_source(event),
        str(ref.get("kind") or ""),
        str(ref.get("namespace") or ""),
        str(ref.get("name") or ""),
        str(ref.get("uid") or ""),
        str(ref.get("apiVersion") or ""),
    )


def _event_key(event: Obj) -> tuple[str, ...]:
    return (
        *_object_key(event),
        str(_involved(event).get("fieldPath") or ""),
        str(event.get("type") or ""),
        str(event.get("reason") or ""),
        str(event.get("message") or ""),
    )


def _aggregate_key(event: Obj) -> tuple[str, ...]:
    return (
        *_object_key(event),
        str(event.get("type") or ""),
        str(event.get("reason") or ""),
        str(event.get("reportingComponent") or ""),
        str(event.get("reportingInstance") or ""),
    )


class EventCorrelator:
    """Filters, aggregates and counts events (client-go's ``EventCorrelator``); not
    thread-safe (one per recorder, used from its event loop)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        lru_entries: int = LRU_ENTRIES,
        burst: int = SPAM_BURST,
        qps: float = SPAM_QPS,
        max_events: int = AGGREGATE_MAX_EVENTS,
        max_interval: float = AGGREGATE_INTERVAL_SECONDS,
    ) -> None:
        self.clock = clock
        self.burst = burst
        self.qps = qps
        self.max_events = max_events
        self.max_interval = max_interval
        self._spam: _Lru[tuple[str, ...], _TokenBucket] = _Lru(lru_entries)
        self._aggregates: _Lru[tuple[str, ...], _Aggregate] = _Lru(lru_entries)
        self._observed: _Lru[tuple[Any, ...], _Observed] = _Lru(lru_entries)

    def correlate(self, event: Obj) -> Correlation:
        """The write ``event`` (a new core/v1 Event with ``count`` 1) turns into. The caller
        keeps ownership of ``event``; the result's event is a new dict."""
        now = self.clock()
        event, key = self._aggregate(event, now)
        event, repeat = self._observe(event, key)
        if not self._allow(event, now):
            return Correlation(None, skip=True)
        return Correlation(event, repeat=repeat)

    def _aggregate(self, event: Obj, now: float) -> tuple[Obj, tuple[Any, ...]]:
        akey = _aggregate_key(event)
        record = self._aggregates.get(akey)
        if record is None or now - record.last > self.max_interval:
            record = _Aggregate(set(), now)
        record.messages.add(str(event.get("message") or ""))
        record.last = now
        self._aggregates.put(akey, record)
        if len(record.messages) < self.max_events:
            return event, _event_key(event)
        record.messages.pop()  # the set never grows past the threshold
        stamp = now_rfc3339(now)
        meta = event.get("metadata")
        namespace = (meta if isinstance(meta, dict) else {}).get("namespace", "")
        combined: Obj = {
            "apiVersion": event.get("apiVersion", "v1"),
            "kind": event.get("kind", "Event"),
            "metadata": {
                # The incoming event's name (unique per recorder) rather than a new one
                # from the clock, which could repeat within a batch.
                "name": (meta if isinstance(meta, dict) else {}).get("name", ""),
                "namespace": namespace,
            },
            "involvedObject": dict(_involved(event)),
            "reason": event.get("reason", ""),
            "message": COMBINED_PREFIX + str(event.get("message") or ""),
            "type": event.get("type", ""),
            "source": event.get("source", {}),
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        return combined, ("aggregate", *akey)

    def _observe(self, event: Obj, key: tuple[Any, ...]) -> tuple[Obj, bool]:
        last = self._observed.get(key)
        out = dict(event)
        repeat = last is not None
        if last is not None:
            out["metadata"] = {**event.get("metadata", {}), "name": last.name}
            out["firstTimestamp"] = last.first_timestamp
            out["count"] = last.count + 1
        self._observed.put(
            key,
            _Observed(
                str(out["metadata"]["name"]),
                int(out.get("count") or 1),
                str(out.get("firstTimestamp") or ""),
            ),
        )
        return out, repeat

    def _allow(self, event: Obj, now: float) -> bool:
        okey = _object_key(event)
        bucket = self._spam.get(okey)
        if bucket is None:
            bucket = _TokenBucket(self.qps, self.burst, now)
        allowed = bucket.try_take(now)
        self._spam.put(okey, bucket)
        return allowed
