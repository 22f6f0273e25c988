"""The outermost ASGI layer: HEAD, security headers and the access log. (The body limit and
risk screening are the risk edge's, in ``app.edge``.)

A client that goes away before it has sent its body is logged and counted with status 499
(client closed request), not as a server error.

The access log records method, route *template*, status and duration: never the concrete
path (it holds response ids), the query string, headers (tokens) or the body (answers).
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.headers import with_security_headers
from app.metrics import LATENCY, REQUESTS

access_log = structlog.get_logger("securebase.access")
CLIENT_CLOSED_REQUEST = 499


_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


def route_template(scope: Scope) -> str:
    """The matched route as a template with its full prefix, e.g.
    ``/api/v1/responses/{response_id}``; ``unmatched`` when no route matched. An included
    router's route knows only its own part of the path, so the prefix is taken from the
    concrete path (prefixes here hold no parameters)."""
    route: Any = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched"
    params = scope.get("path_params", {})
    concrete = _PARAMETER.sub(lambda m: str(params.get(m.group(1), m.group(0))), template)
    path = str(scope.get("path", ""))
    if concrete and path.endswith(concrete):
        return path[: len(path) - len(concrete)] + template
    return template


def log_request(scope: Scope, method: str, status: int, elapsed: float) -> None:
    """One access log line, and the request counted and timed by route template."""
    template = route_template(scope)
    REQUESTS.labels(method, template, str(status)).inc()
    LATENCY.labels(method, template).observe(elapsed)
    access_log.info(
        "request",
        method=method,
        route=template,
        status=status,
        duration_ms=round(elapsed * 1000, 2),
    )


def as_get(scope: Scope) -> Scope:
    """A HEAD request is answered as GET would be, headers only (RFC 9110 §9.3.2): uptime
    monitors and link checkers use it. The routes declare GET alone, so without this HEAD
    would get 405."""
    return {**scope, "method": "GET"}


class ResponseFrameMiddleware:
    """The outermost of the application's own layers, around every answer (the risk edge's
    refusals included): HEAD answered as GET without its body, the security headers
    (:func:`app.headers.with_security_headers`), and the access log line with the request's
    metrics (:func:`log_request`). One wrapper of ``send`` does all three."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = str(scope.get("method"))
        head = method == "HEAD"
        inner = as_get(scope) if head else scope
        status = 500
        started_response = False

        async def framed(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                message = with_security_headers(message)
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(inner, receive, framed)
        except ClientDisconnect:
            status = CLIENT_CLOSED_REQUEST
        finally:
            if not started_response and inner.get("state", {}).get("client_disconnected"):
                status = CLIENT_CLOSED_REQUEST
            # The routed scope: the router notes the matched route in the one it was given.
            log_request(inner, method, status, time.perf_counter() - started)
