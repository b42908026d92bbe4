"""The apiserver's Prometheus metrics, in a registry of their own (``APIServer.metrics.registry``;
the HTTP adapter serves ``generate_latest(registry)``)."""

from __future__ import annotations

from collections import deque
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["REQUEST_DURATION_BUCKETS", "InflightCounter", "Metrics"]

REQUEST_DURATION_BUCKETS: Final = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0,
    4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
)  # fmt: skip
"""kube-apiserver's apiserver_request_duration_seconds buckets."""


class InflightCounter:
    """A gauge of requests in flight, cheaper than a prometheus Gauge child's ``inc``/``dec``
    (each takes a lock): one ``deque.append``/``pop`` (atomic under the GIL), the gauge's
    value its length, read when the registry is collected."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: deque[None] = deque()

    def inc(self) -> None:
        self._items.append(None)

    def dec(self) -> None:
        """One request fewer (after an :meth:`inc`)."""
        self._items.pop()

    def get(self) -> float:
        """Requests in flight now."""
        return float(len(self._items))


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.request_total = Counter(
            "apiserver_request_total",
            "Counter of apiserver requests broken out for each verb, resource and response code.",
            ["verb", "resource", "subresource", "code"],
            registry=r,
        )
        self.request_duration = Histogram(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb and resource.",
            ["verb", "resource", "subresource"],
            buckets=REQUEST_DURATION_BUCKETS,
            registry=r,
        )
        self.inflight = Gauge(
            "apiserver_current_inflight_requests",
            "Maximal number of currently used inflight request limit of this apiserver per "
            "request kind in last second.",
            ["request_kind"],
            registry=r,
        )
        self.registered_watchers = Gauge(
            "apiserver_registered_watchers",
            "Number of currently registered watchers for a given resources",
            ["resource"],
            registry=r,
        )
        self.watch_events = Counter(
            "apiserver_watch_events_total",
            "Number of events sent in watch clients",
            ["resource"],
            registry=r,
        )
        self.inflight_readonly = InflightCounter()
        self.inflight_mutating = InflightCounter()
        self.inflight.labels("readOnly").set_function(self.inflight_readonly.get)
        self.inflight.labels("mutating").set_function(self.inflight_mutating.get)
