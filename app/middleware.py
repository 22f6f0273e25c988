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


_KEPT = 1024
"""At most this many route templates, metric series and loggers are kept for reuse (there
are a few dozen routes; a client can make up any number of methods)."""

_FIXED_TEMPLATES: dict[tuple[str, str], str] = {}


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
    if not params:  # a path without parameters: one template per route and path
        key = (template, str(scope.get("path", "")))
        full = _FIXED_TEMPLATES.get(key)
        if full is None:
            full = _full_template(template, params, key[1])
            if len(_FIXED_TEMPLATES) < _KEPT:
                _FIXED_TEMPLATES[key] = full
        return full
    return _full_template(template, params, str(scope.get("path", "")))


def _full_template(template: str, params: dict[str, Any], path: str) -> str:
    concrete = _PARAMETER.sub(lambda m: str(params.get(m.group(1), m.group(0))), template)
    if concrete and path.endswith(concrete):
        return path[: len(path) - len(concrete)] + template
    return template


_COUNTS: dict[tuple[str, str, str], Any] = {}
_TIMES: dict[tuple[str, str], Any] = {}
_LOGGER: list[Any] = [None, None]
"""The access logger bound for the logging configuration it was bound under."""


def _counter(method: str, template: str, status: str) -> Any:
    """``REQUESTS`` for these labels: the same series ``labels`` gives, looked up once."""
    key = (method, template, status)
    series = _COUNTS.get(key)
    if series is None:
        series = REQUESTS.labels(method, template, status)
        if len(_COUNTS) < _KEPT:
            _COUNTS[key] = series
    return series


def _timer(method: str, template: str) -> Any:
    key = (method, template)
    series = _TIMES.get(key)
    if series is None:
        series = LATENCY.labels(method, template)
        if len(_TIMES) < _KEPT:
            _TIMES[key] = series
    return series


def _access_logger() -> Any:
    """The access logger as ``access_log`` assembles it for each line, assembled again only
    when the logging configuration changes (``structlog.configure``)."""
    config = tuple(structlog.get_config().values())
    kept_config, logger = _LOGGER
    if (
        kept_config is None
        or len(kept_config) != len(config)
        or any(kept is not now for kept, now in zip(kept_config, config, strict=True))
    ):
        logger = access_log.bind()
        _LOGGER[:] = [config, logger]
    return logger


def log_request(scope: Scope, method: str, status: int, elapsed: float) -> None:
    """One access log line, and the request counted and timed by route template."""
    template = route_template(scope)
    _counter(method, template, str(status)).inc()
    _timer(method, template).observe(elapsed)
    _access_logger().info(
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
