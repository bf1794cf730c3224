"""Prometheus metrics, one registry per app (each replica is scraped on its own):
request counts and latencies per route, plus what a service counts itself."""

from __future__ import annotations

import time
from collections.abc import Collection

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by its route template (never the raw
    path, whose ids would explode the label set); ``fixed_paths`` are routes by themselves."""

    def __init__(self, app: ASGIApp, metrics: Metrics, fixed_paths: Collection[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.fixed_paths = set(fixed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            path = scope["path"].rstrip("/") or "/"
            route = path if path in self.fixed_paths else getattr(scope.get("route"), "path", "")
            label = route or "unmatched"
            self.metrics.requests.labels(
                self.metrics.service, label, scope["method"], str(status)
            ).inc()
            self.metrics.latency.labels(self.metrics.service, label).observe(
                time.perf_counter() - started
            )
