"""A route whose ordinary request is answered directly, and every other one as usual.

FastAPI answers a request by solving the route's dependencies one by one, validating its
body and headers, calling the endpoint and validating and serializing what it returns: for
the submission, the hot path, that work cost about as much CPU as the submission itself.

A route of :class:`DirectRoute` whose endpoint was given a *direct answer*
(:func:`answered_directly`) first offers each request to it. The direct answer takes only the
request that needs none of that machinery's judgement (a JSON body the risk edge has already
parsed, that validates, with headers that need no refusal) and answers it with the same
status, headers and bytes the endpoint would have; for anything else it returns None, before
doing any work that shows, and the request is answered by FastAPI as before, every refusal
included. The route, its parameters and its response model stay as declared, so the OpenAPI
document does not change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

import fastapi.routing
from fastapi import Request, Response
from starlette.routing import compile_path
from starlette.types import Receive, Scope, Send

from app.api.screened_body import SCREENED_JSON, ScreenedBodyRoute, ScreenedJson

DirectAnswer = Callable[[Request], Awaitable[Response | None]]
"""The endpoint's answer to an ordinary request; None for any other request."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_DIRECT_ANSWERS: dict[Callable[..., Any], DirectAnswer] = {}

_JSON = "application/json"


def answered_directly(direct: DirectAnswer) -> Callable[[Endpoint], Endpoint]:
    """Give an endpoint its direct answer (its route looks it up for each request)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        _DIRECT_ANSWERS[endpoint] = direct
        return endpoint

    return mark


def screened_json(request: Request) -> object | None:
    """The body's JSON document if FastAPI would read the body as this JSON: declared as
    ``application/json`` and parsed, and let through, by the risk edge. None otherwise
    (no body, another media type, a body the edge did not parse)."""
    screened = request.scope.get("state", {}).get(SCREENED_JSON)
    if not isinstance(screened, ScreenedJson) or not screened.raw:
        return None
    declared = request.headers.get("content-type")
    if declared is None or declared.split(";", 1)[0].strip().lower() != _JSON:
        return None
    return screened.document


class DirectRoute(ScreenedBodyRoute):
    """A route that offers each request to its endpoint's direct answer, if it has one,
    before FastAPI's own handling. The direct answer runs where the route's handler would:
    its exceptions reach the same exception handlers, and its answer goes out through the
    same layers."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = _DIRECT_ANSWERS.get(self.endpoint)
        if direct is not None and scope["method"] in (self.methods or ()):
            answer = await direct(Request(scope, receive, send))
            if answer is not None:
                await answer(scope, receive, send)
                return
        await super().handle(scope, receive, send)


def direct_answer(route: DirectRoute) -> DirectAnswer | None:
    """The route's direct answer, if its endpoint has one now."""
    return _DIRECT_ANSWERS.get(route.endpoint)


def _flat_routes(routes: Iterable[Any]) -> Iterator[tuple[Any, object]]:
    """Every route in the order the router tries them, each with its full path (included
    routers' routes in their place)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    if flatten is None:  # older FastAPI lists the included routes themselves
        yield from ((route, getattr(route, "path", None)) for route in routes)
        return
    for context in flatten(list(routes)):
        yield context.original_route, context.path


def direct_routes(routes: Iterable[Any]) -> dict[tuple[str, str], DirectRoute]:
    """The requests, by method and path, that the router would hand to a route that may
    have a direct answer, whatever else they hold: the route's path has no parameters, and
    no route tried before it (nor a mount) takes that method and path. Anything in doubt is
    left out, and goes through the router as usual."""
    flat = list(_flat_routes(routes))
    targets: dict[tuple[str, str], DirectRoute] = {}
    for index, (route, path) in enumerate(flat):
        if not isinstance(route, DirectRoute) or not isinstance(path, str):
            continue
        if "{" in path or not path.startswith("/"):
            continue
        for method in route.methods or ():
            if (method, path) not in targets and not _taken_before(flat[:index], method, path):
                targets[(method, path)] = route
    return targets


def _taken_before(earlier: list[tuple[Any, object]], method: str, path: str) -> bool:
    for route, route_path in earlier:
        methods = getattr(route, "methods", None)
        if not isinstance(route_path, str):
            return True  # a route whose path is unknown: it might take it
        if methods is None:
            # A mount (or anything else without methods) takes every path under its own.
            if path == route_path or path.startswith(route_path.rstrip("/") + "/"):
                return True
            continue
        if method in methods and compile_path(route_path)[0].fullmatch(path):
            return True
    return False
