"""Prometheus metrics: cheap counters on the hot path, one registry per server."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str, int, bool], tuple[Any, Any, Any]] = {}
        self.requests = Counter(
            "aimock_requests",
            "Requests served, by surface, provider, status and whether a fixture matched.",
            ["surface", "provider", "status", "matched"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aimock_request_duration_seconds",
            "Time to answer (to the last byte for streams), by surface.",
            ["surface"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fixtures = Gauge(
            "aimock_fixtures_loaded", "Fixtures in the serving set.", registry=self.registry
        )
        self.unmatched = Counter(
            "aimock_unmatched_requests",
            "Requests no fixture matched, by surface.",
            ["surface"],
            registry=self.registry,
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
        key = (surface, provider, status, matched)
        children = self._children.get(key)
        if children is None:
            # Label lookups hash and lock; a request pays for them once per label set.
            children = self._children[key] = (
                self.requests.labels(surface, provider, str(status), str(matched).lower()),
                self.latency.labels(surface),
                self.unmatched.labels(surface) if not matched and status in (404, 503) else None,
            )
        requests, latency, unmatched = children
        requests.inc()
        latency.observe(seconds)
        if unmatched is not None:
            unmatched.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
