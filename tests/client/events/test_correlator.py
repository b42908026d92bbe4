"""client-go's event correlation: counting, aggregation and the spam filter."""

from __future__ import annotations

from typing import Any

from kubemu.client.events import EventCorrelator
from kubemu.client.events.correlator import COMBINED_PREFIX


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def event(
    message: str = "m", *, name: str = "p", reason: str = "R", uid: str = "u"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{len(message):x}", "namespace": "ns"},
        "involvedObject": {
            "kind": "Pod",
            "namespace": "ns",
            "name": name,
            "uid": uid,
            "apiVersion": "v1",
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "source": {"component": "c"},
        "firstTimestamp": "t0",
        "lastTimestamp": "t0",
        "count": 1,
    }


def test_identical_events_are_counted_on_the_first_one() -> None:
    c = EventCorrelator(clock=Clock())
    first = c.correlate(event())
    assert first.event is not None and not first.repeat and first.event["count"] == 1
    again = event()
    again["metadata"]["name"] = "p.other"
    again["firstTimestamp"] = again["lastTimestamp"] = "t1"
    second = c.correlate(again)
    assert second.repeat and second.event is not None
    assert second.event["metadata"]["name"] == first.event["metadata"]["name"]
    assert (
        second.event["count"],
        second.event["firstTimestamp"],
        second.event["lastTimestamp"],
    ) == (
        2,
        "t0",
        "t1",
    )
    assert c.correlate(event()).event["count"] == 3  # type: ignore[index]


def test_key_includes_uid_reason_and_message() -> None:
    c = EventCorrelator(clock=Clock())
    assert not c.correlate(event()).repeat
    assert not c.correlate(event(uid="other")).repeat
    assert not c.correlate(event(reason="Other")).repeat
    assert not c.correlate(event("other message")).repeat
    assert c.correlate(event()).repeat


def test_similar_messages_are_combined_from_the_tenth() -> None:
    clock = Clock()
    c = EventCorrelator(clock=clock)
    for i in range(9):
        r = c.correlate(event(f"message {i}"))
        assert r.event is not None and r.event["message"] == f"message {i}"
    tenth = c.correlate(event("message 9"))
    assert tenth.event is not None and not tenth.repeat
    assert tenth.event["message"] == COMBINED_PREFIX + "message 9"
    assert tenth.event["count"] == 1
    eleventh = c.correlate(event("message 10"))
    assert eleventh.repeat and eleventh.event is not None
    assert eleventh.event["metadata"]["name"] == tenth.event["metadata"]["name"]
    assert eleventh.event["count"] == 2
    assert eleventh.event["message"] == COMBINED_PREFIX + "message 10"


def test_aggregation_window_restarts_after_ten_quiet_minutes() -> None:
    clock = Clock()
    c = EventCorrelator(clock=clock)
    for i in range(9):
        c.correlate(event(f"message {i}"))
        clock.now += 60  # each within 10 minutes of the previous one
    clock.now += 601
    r = c.correlate(event("message 9"))
    assert r.event is not None and r.event["message"] == "message 9"


def test_spam_filter_burst_then_one_per_five_minutes() -> None:
    clock = Clock()
    c = EventCorrelator(clock=clock, max_events=10_000)
    results = [c.correlate(event(f"m{i}")) for i in range(30)]
    assert [r.skip for r in results] == [False] * 25 + [True] * 5
    clock.now += 299
    assert c.correlate(event("late")).skip
    clock.now += 2
    assert not c.correlate(event("later")).skip
    assert c.correlate(event("again")).skip
    # another object has its own bucket
    assert not c.correlate(event("m", name="q")).skip


def test_caches_are_bounded() -> None:
    c = EventCorrelator(clock=Clock(), lru_entries=3)
    for name in "abcd":
        c.correlate(event(name=name))
    # "a" was forgotten: the same event again is new
    assert not c.correlate(event(name="a")).repeat
    assert c.correlate(event(name="d")).repeat
