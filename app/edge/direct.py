"""The direct path: a request a route answers directly, answered from the edge.

Every request passes the application's own two layers (``app.middleware``: the access log,
the security headers; ``app.edge.middleware``: the risk edge) and then the framework's: its
exception handlers, its exit stack, the router, the route. For the submission, the hot path,
that passage cost a tenth of the event loop's time: a dozen coroutines to await through and
six wrappers of ``send`` for the answer to pass.

:class:`DirectPath` is the outermost of the application's layers. A request whose method and
path the router would hand to a route with a direct answer (``app.api.direct``) it takes
itself: it screens the body with the risk edge (risk is read before anything else, refusals
answered as ever), offers the request to the direct answer, and sends that answer with its
start edited once, with what the layers would have done (the start edits, the notice, the
security headers) and its status noted for the notice's count and the access log. The start
of such an answer is worked out once per status and headers and reused.

What the direct answer declines goes on to the framework after the edge, exactly as the risk
edge would pass it, and an exception it raises meets the framework's exception handlers, as
it would in the route; an exception none handles goes out to the server error handler, as
before. Every other request goes through the layers unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.direct import DirectRoute, direct_answer, direct_routes
from app.edge.middleware import RiskEdge
from app.edge.policy import body_policy
from app.headers import with_security_headers
from app.middleware import CLIENT_CLOSED_REQUEST, ResponseFrameMiddleware, log_request
from app.services.notices import one_answer
from scoring.crisis import CrisisNotice

Headers = list[tuple[bytes, bytes]]

_KEPT_STARTS = 64
"""At most this many answer starts are kept (a direct answer has one or two)."""

_ROUTED = ("router", "endpoint", "path_params", "route")
"""What the router notes in the scope of a request it hands to a route."""


class _Raising:
    """An app that raises what the direct answer raised, for the exception handlers."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise self.error


class DirectPath:
    """Around ``app``, the response frame around the risk edge (``app.main`` wires them):
    the requests a route answers directly are answered here, everything else by ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        frame = app
        if not isinstance(frame, ResponseFrameMiddleware) or not isinstance(frame.app, RiskEdge):
            raise TypeError("DirectPath wraps the response frame around the risk edge")
        self.app = app
        self.edge: RiskEdge = frame.app
        self.framework: ASGIApp = frame.app.app
        self._routes: dict[tuple[str, str], DirectRoute] | None = None
        # Per route, method and answer start (status, headers but the length): the start sent.
        self._starts: dict[tuple[int, str, int, tuple[tuple[bytes, bytes], ...]], Headers] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            routes = self._routes
            if routes is None:  # the routes are complete once the first request arrives
                routes = self._routes = _screened_routes(scope["app"].routes)
            route = routes.get((scope["method"], scope["path"]))
            if route is not None and direct_answer(route) is not None:
                await self._direct(scope, receive, send, route)
                return
        await self.app(scope, receive, send)

    async def _direct(self, scope: Scope, receive: Receive, send: Send, route: DirectRoute) -> None:
        """What the response frame, the risk edge, the framework and the route would do, in
        one coroutine and with one wrapper of ``send`` (for answers other than the direct
        one)."""
        started = time.perf_counter()
        method: str = scope["method"]
        state = scope.setdefault("state", {})
        status = 500
        started_response = False
        try:
            with one_answer(state) as answer:

                async def framed(message: Message) -> None:
                    nonlocal status, started_response
                    if message["type"] == "http.response.start":
                        answer.status = message["status"]
                        started_response = True
                        status = message["status"]
                        message = with_security_headers(message)
                    await send(message)

                screened = await self.edge.screen(scope, receive, framed, state)
                if screened is None:
                    return
                replay, notice = screened.receive, screened.notice
                answer_directly = direct_answer(route)
                routed = _routed(scope, route)
                try:
                    direct = (
                        None
                        if answer_directly is None
                        else await answer_directly(Request(scope, replay, send))
                    )
                except Exception as error:
                    await self._handled(scope, error)(
                        scope, replay, self.edge.answering(scope, framed, notice)
                    )
                    return
                if direct is None:
                    for key in routed:  # the router notes them itself
                        del scope[key]
                    await self.framework(scope, replay, self.edge.answering(scope, framed, notice))
                    return
                start, payload = self._sent(
                    scope, route, direct.status_code, direct.raw_headers, direct.body, notice
                )
                answer.status = status = start["status"]
                started_response = True
                await send(start)
                await send({"type": "http.response.body", "body": payload})
                if direct.background is not None:
                    await direct.background()
        except ClientDisconnect:
            status = CLIENT_CLOSED_REQUEST
        finally:
            if not started_response and state.get("client_disconnected"):
                status = CLIENT_CLOSED_REQUEST
            log_request(scope, method, status, time.perf_counter() - started)

    def _sent(
        self,
        scope: Scope,
        route: DirectRoute,
        status: int,
        headers: Headers,
        body: bytes | memoryview,
        notice: CrisisNotice | None,
    ) -> tuple[Message, bytes | memoryview]:
        """The direct answer's start and body as the layers would send them."""
        length = headers[0] if headers and headers[0][0] == b"content-length" else None
        if notice is not None or length is None:
            start: Message = {"type": "http.response.start", "status": status, "headers": headers}
            start, payload = self.edge.answer_of(scope, start, bytes(body), notice)
            return with_security_headers(start), payload
        key = (id(route), scope["method"], status, tuple(headers[1:]))
        kept = self._starts.get(key)
        if kept is None:
            start = {"type": "http.response.start", "status": status, "headers": headers}
            start = with_security_headers(self.edge.answer_of(scope, start, b"", None)[0])
            sent: Headers = start["headers"]
            # The edits read the method, path, status and the other headers, never the length:
            # kept for the next answer alike when they left the length first, as it came.
            if start["status"] != status or not sent or sent[0] != length:
                return start, body
            kept = sent[1:]
            if len(self._starts) < _KEPT_STARTS:
                self._starts[key] = kept
        return {
            "type": "http.response.start",
            "status": status,
            "headers": [length, *kept],
        }, body

    @staticmethod
    def _handled(scope: Scope, error: Exception) -> ASGIApp:
        """The framework's exception handlers around ``error``, as the route's own exception
        would meet them (the handlers FastAPI gives its exception middleware)."""
        app: Any = scope["app"]
        handlers: dict[Any, Callable[..., Any]] = {
            key: value
            for key, value in app.exception_handlers.items()
            if key not in (500, Exception)
        }
        return ExceptionMiddleware(_Raising(error), handlers=handlers, debug=app.debug)


def _screened_routes(routes: list[Any]) -> dict[tuple[str, str], DirectRoute]:
    """The direct routes whose bodies the edge reads and screens whole (not one it streams)."""
    found = direct_routes(routes).items()
    return {key: route for key, route in found if body_policy(key[1]) == "screened"}


def _routed(scope: Scope, route: DirectRoute) -> tuple[str, ...]:
    """Note in ``scope`` what the router would for ``route``; the keys it added."""
    added = tuple(key for key in _ROUTED if key not in scope)
    scope.setdefault("router", scope["app"].router)
    scope["endpoint"] = route.endpoint
    scope["path_params"] = {}
    scope["route"] = route
    return added
