"""Prometheus metrics: cheap counters on the hot path, one registry per server."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    Metric,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# As prometheus_client writes `le` ("0.0005", "1.0"); repr does the same for these bounds.
_BUCKET_LABELS = [repr(float(bound)) for bound in LATENCY_BUCKETS] + ["+Inf"]


class RequestCounts:
    """What every request adds: the request counter, the latency histogram and the unmatched
    counter, kept as plain numbers and turned into metric families only when scraped.

    prometheus_client's own Counter and Histogram take a lock and a few calls per update; a
    request paid several microseconds for them. The server answers on one event loop thread,
    so plain integers are enough. The exposition is the same, less the optional `_created`
    samples."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int, bool], int] = {}
        # surface -> per-bucket counts (not cumulative), the last one for +Inf
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
        self.unmatched: dict[str, int] = {}

    def observe(
        self, surface: str, provider: str, status: int, matched: bool, seconds: float
    ) -> None:
        key = (surface, provider, status, matched)
        self.requests[key] = self.requests.get(key, 0) + 1
        buckets = self.buckets.get(surface)
        if buckets is None:
            buckets = self.buckets[surface] = [0] * (len(LATENCY_BUCKETS) + 1)
        buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # `le`: the first bound >= seconds
        self.sums[surface] = self.sums.get(surface, 0.0) + seconds
        if not matched and status in (404, 503):
            self.unmatched[surface] = self.unmatched.get(surface, 0) + 1

    def describe(self) -> Iterator[Metric]:
        return self.families(empty=True)

    def collect(self) -> Iterator[Metric]:
        return self.families(empty=False)

    def families(self, empty: bool) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "aimock_requests",
            "Requests served, by surface, provider, status and whether a fixture matched.",
            labels=["surface", "provider", "status", "matched"],
        )
        latency = HistogramMetricFamily(
            "aimock_request_duration_seconds",
            "Time to answer (to the last byte for streams), by surface.",
            labels=["surface"],
        )
        unmatched = CounterMetricFamily(
            "aimock_unmatched_requests",
            "Requests no fixture matched, by surface.",
            labels=["surface"],
        )
        if not empty:
            for (surface, provider, status, matched), count in sorted(self.requests.items()):
                labels = [surface, provider, str(status), "true" if matched else "false"]
                requests.add_metric(labels, count)
            for surface, counts in sorted(self.buckets.items()):
                cumulative, running = [], 0
                for label, count in zip(_BUCKET_LABELS, counts, strict=True):
                    running += count
                    cumulative.append((label, float(running)))
                latency.add_metric([surface], cumulative, self.sums[surface])
            for surface, count in sorted(self.unmatched.items()):
                unmatched.add_metric([surface], count)
        yield from (requests, latency, unmatched)


class Metrics:
    content_type: ClassVar[str] = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.counts = RequestCounts()
        self.registry.register(self.counts)
        self.fixtures = Gauge(
            "aimock_fixtures_loaded", "Fixtures in the serving set.", registry=self.registry
        )
        self.chaos = Counter(
            "aimock_chaos_triggered",
            "Chaos actions taken, by action.",
            ["action", "surface"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "aimock_reloads",
            "Fixture reloads, by result (ok or error).",
            ["result"],
            registry=self.registry,
        )

    def observe(
        self, surface: str, provider: str, status: int, matched: bool, seconds: float
    ) -> None:
        self.counts.observe(surface, provider, status, matched, seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
