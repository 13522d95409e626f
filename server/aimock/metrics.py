"""Prometheus metrics: plain counts on the hot path, one set per server.

A request adds to a few dicts of numbers; they become metric families only when /metrics is
scraped, through prometheus_client, which is imported then and not before. Its Counter and
Histogram took a lock and several calls per update (a request paid microseconds for them), and
importing it costs a server that is never scraped 1.5 MiB (it brings http.server and wsgiref).
The server answers on one event-loop thread, so plain integers are enough. The exposition is
prometheus_client's, less the optional `_created` samples.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, ClassVar

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# As prometheus_client writes `le` ("0.0005", "1.0"); repr does the same for these bounds.
_BUCKET_LABELS = [repr(float(bound)) for bound in LATENCY_BUCKETS] + ["+Inf"]
# prometheus_client.exposition.CONTENT_TYPE_LATEST, without importing it to say so.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    content_type: ClassVar[str] = CONTENT_TYPE

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int, bool], int] = {}
        # surface -> per-bucket counts (not cumulative), the last one for +Inf
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
        self.unmatched: dict[str, int] = {}
        self.chaos: dict[tuple[str, str], int] = {}  # (action, surface)
        self.reloads: dict[str, int] = {}  # ok | error
        self.fixtures_loaded = 0
        self._registry: Any = None

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

    def chaos_taken(self, action: str, surface: str) -> None:
        key = (action, surface)
        self.chaos[key] = self.chaos.get(key, 0) + 1

    def reloaded(self, result: str) -> None:
        self.reloads[result] = self.reloads.get(result, 0) + 1

    def render(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        if self._registry is None:
            self._registry = CollectorRegistry()
            self._registry.register(_Collector(self))
        exposition: bytes = generate_latest(self._registry)
        return exposition


class _Collector:
    """The counts above as prometheus_client's metric families (built at scrape time)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.metrics_core import GaugeMetricFamily, HistogramMetricFamily

        metrics = self.metrics
        yield _counter(
            "aimock_requests",
            "Requests served, by surface, provider, status and whether a fixture matched.",
            ["surface", "provider", "status", "matched"],
            {
                (surface, provider, str(status), str(matched).lower()): n
                for (surface, provider, status, matched), n in metrics.requests.items()
            },
        )
        latency = HistogramMetricFamily(
            "aimock_request_duration_seconds",
            "Time to answer (to the last byte for streams), by surface.",
            labels=["surface"],
        )
        for surface, counts in sorted(metrics.buckets.items()):
            cumulative, running = [], 0
            for label, count in zip(_BUCKET_LABELS, counts, strict=True):
                running += count
                cumulative.append((label, float(running)))
            latency.add_metric([surface], cumulative, metrics.sums[surface])
        yield latency
        yield GaugeMetricFamily(
            "aimock_fixtures_loaded", "Fixtures in the serving set.", value=metrics.fixtures_loaded
        )
        yield _counter(
            "aimock_unmatched_requests",
            "Requests no fixture matched, by surface.",
            ["surface"],
            {(surface,): n for surface, n in metrics.unmatched.items()},
        )
        yield _counter(
            "aimock_chaos_triggered",
            "Chaos actions taken, by action.",
            ["action", "surface"],
            metrics.chaos,
        )
        yield _counter(
            "aimock_reloads",
            "Fixture reloads, by result (ok or error).",
            ["result"],
            {(result,): n for result, n in metrics.reloads.items()},
        )


def _counter(name: str, documentation: str, labels: list[str], counts: dict[Any, int]) -> Any:
    from prometheus_client.metrics_core import CounterMetricFamily

    family = CounterMetricFamily(name, documentation, labels=labels)
    for values, count in sorted(counts.items()):
        family.add_metric(list(values), count)
    return family
