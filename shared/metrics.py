"""Prometheus metrics, one registry per app (each replica is scraped on its own):
request counts and latencies per route, plus what a service counts itself."""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

# The one spelling the metrics are served at. A proxy keeps them off the public side by this
# path (deploy/Caddyfile, matching the decoded path); a percent-encoded spelling such as
# /%6detrics reaches the same route once decoded, so it is answered as an unknown path here,
# whatever rule the proxy in front matches with.
PATH = "/metrics"


class HttpSeries(Collector):
    """Requests counted and timed by route, method and status, as plain numbers that become
    Prometheus series when scraped. Observe records every request on the event loop's thread,
    and the scrape reads them there too: prometheus_client's own counter and histogram took a
    lock per increment and per bucket, 5 % of each /introspect (issue 14)."""

    BOUNDS = Histogram.DEFAULT_BUCKETS[:-1]

    def __init__(self, service: str) -> None:
        self.service = service
        self._counts: dict[tuple[str, str, int], int] = {}
        # Per route: one count per bound, the count above the last, then the sum of seconds.
        self._latencies: dict[str, list[float]] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self._counts[key] = self._counts.get(key, 0) + 1
        latency = self._latencies.get(route)
        if latency is None:
            latency = self._latencies[route] = [0.0] * (len(self.BOUNDS) + 2)
        latency[bisect.bisect_left(self.BOUNDS, seconds)] += 1
        latency[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "hospiai_http_requests", "HTTP requests by route, method and status",
            labels=["service", "route", "method", "status"],
        )
        for (route, method, status), count in self._counts.items():
            requests.add_metric([self.service, route, method, str(status)], count)
        latency = HistogramMetricFamily(
            "hospiai_http_request_duration_seconds", "HTTP request latency by route",
            labels=["service", "route"],
        )
        for route, counts in self._latencies.items():
            cumulative, buckets = 0.0, list[tuple[str, float]]()
            for bound, within in zip(self.BOUNDS, counts, strict=False):
                cumulative += within
                buckets.append((repr(bound), cumulative))
            buckets.append(("+Inf", cumulative + counts[len(self.BOUNDS)]))
            latency.add_metric([self.service, route], buckets, sum_value=counts[-1])
        yield requests
        yield latency


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.http = HttpSeries(service)
        self.registry.register(self.http)
        # Token outcomes: issued, refreshed, revoked, reuse_detected, introspection_active...
        self.tokens = Counter(
            "hospiai_token_outcomes", "Token outcomes", ["service", "outcome"],
            registry=self.registry,
        )
        self.service = service
        self._outcomes: dict[str, Counter] = {}

    def token(self, outcome: str) -> None:
        # Each outcome's series looked up once: labels() costs more than the increment, and
        # introspection counts every call. The outcomes are the callers' few literals.
        series = self._outcomes.get(outcome)
        if series is None:
            series = self._outcomes[outcome] = self.tokens.labels(self.service, outcome)
        series.inc()

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics, the Prometheus text format."""
        if request.scope.get("raw_path", PATH.encode()) != PATH.encode():
            return PlainTextResponse("Not Found", status_code=404)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
