"""Prometheus metrics, one registry per app (each replica is scraped on its own):
request counts and latencies per route, plus what a service counts itself."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

# The one spelling the metrics are served at. A proxy keeps them off the public side by this
# path (deploy/Caddyfile, matching the decoded path); a percent-encoded spelling such as
# /%6detrics reaches the same route once decoded, so it is answered as an unknown path here,
# whatever rule the proxy in front matches with.
PATH = "/metrics"


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hospiai_http_requests", "HTTP requests by route, method and status",
            ["service", "route", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "hospiai_http_request_duration_seconds", "HTTP request latency by route",
            ["service", "route"], registry=self.registry,
        )
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
