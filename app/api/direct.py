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

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
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
