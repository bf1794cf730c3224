"""Prometheus metrics, one registry per app (each replica is scraped on its own):
request counts and latencies per route, plus what a service counts itself."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response


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

    def token(self, outcome: str) -> None:
        self.tokens.labels(self.service, outcome).inc()

    async def endpoint(self, _request: Request) -> Response:
        """GET /metrics, the Prometheus text format."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
