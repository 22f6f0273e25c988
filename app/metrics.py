"""Prometheus metrics: counts and latencies only, never answers, ids or tokens.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder before the
workers start (``securebase serve`` does this itself); ``/metrics`` then adds up every
worker's samples, so any worker answers for all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
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
    "securebase_crisis_notices_total", "Crisis notices returned, by level", ["level"]
)
EXPORTS = Counter("securebase_research_exports_total", "Research exports served", ["endpoint"])


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric, summed over workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
