"""ASGI middleware: security headers, the access log, and HEAD. (The body limit and risk
screening are the risk edge's, in ``app.edge``.)

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

from app.headers import SECURITY_HEADERS
from app.metrics import LATENCY, REQUESTS
from app.response_start import editing_start

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


class SecurityHeadersAndAccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        def with_security_headers(start: Message) -> Message:
            nonlocal status
            status = start["status"]
            present = {name.lower() for name, _ in start.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            return {**start, "headers": [*start.get("headers", []), *extra]}

        send_with_headers = editing_start(send, with_security_headers)

        started_response = False

        async def tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            status = CLIENT_CLOSED_REQUEST
        finally:
            if not started_response and scope.get("state", {}).get("client_disconnected"):
                status = CLIENT_CLOSED_REQUEST
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            method = str(scope.get("method"))
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(elapsed)
            access_log.info(
                "request",
                method=method,
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


class HeadAsGetMiddleware:
    """HEAD is answered as GET would be, headers only (RFC 9110 §9.3.2): uptime monitors and
    link checkers use it. The routes declare GET alone, so without this HEAD would get 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
