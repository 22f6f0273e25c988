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

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response

from app.api.screened_body import SCREENED_JSON, ScreenedBodyRoute, ScreenedJson

DirectAnswer = Callable[[Request], Awaitable[Response | None]]
"""The endpoint's answer to an ordinary request; None for any other request."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_DIRECT_ANSWERS: dict[Callable[..., Any], DirectAnswer] = {}

_JSON = "application/json"


def answered_directly(direct: DirectAnswer) -> Callable[[Endpoint], Endpoint]:
    """Give an endpoint its direct answer. Put it below the route's decorator (closest to the
    function), so that it is known when the route is made."""

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
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        endpoint = self.endpoint
        if endpoint not in _DIRECT_ANSWERS:
            return handle

        async def handle_directly(request: Request) -> Response:
            answer = await _DIRECT_ANSWERS[endpoint](request)
            return answer if answer is not None else await handle(request)

        return handle_directly
