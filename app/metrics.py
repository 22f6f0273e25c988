"""Prometheus metrics: counts and latencies only, never answers, ids or tokens.

They are not served to the public. ``securebase serve`` answers them on a port of their own,
``SECUREBASE_METRICS_ADDRESS`` (``127.0.0.1:9464`` by default: only the machine itself can
reach it); ``/metrics`` on the application's port answers only a request carrying
``SECUREBASE_METRICS_TOKEN`` as a bearer token, and is absent when no token is set.

No counter tells crisis levels apart: on a quiet site, a count by level that moves right after
one submission says what that person answered. The crisis-notice count is one total: one per
answer that shows a notice, error answers included (``app.services.notices``).

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder before the
workers start (``securebase serve`` does this itself); the exposition then adds up every
worker's samples, so any worker (and the metrics port, served by the supervisor) answers for
all of them.
"""

from __future__ import annotations

import os
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter(
    "securebase_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "securebase_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SUBMISSIONS = Counter("securebase_submissions_total", "Responses submitted")
CRISIS_NOTICES = Counter(
    "securebase_crisis_notices_total",
    "Answers that showed a crisis notice, errors included (every level together)",
)
EXPORTS = Counter("securebase_research_exports_total", "Research exports served", ["endpoint"])


def exposed_registry() -> CollectorRegistry:
    """What the metrics show: this process's, or every worker's summed in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric."""
    return generate_latest(exposed_registry()), CONTENT_TYPE_LATEST


def start_metrics_server(host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve the exposition on ``host:port`` from a background thread (OSError when the
    address cannot be bound)."""
    server, thread = start_http_server(port, addr=host, registry=exposed_registry())
    return server, thread
