"""The JSON body the risk edge already parsed, handed to a route instead of parsed again.

The edge (``app.edge``) reads every body before routing and parses it strictly. A body it
lets through parsed to exactly what ``json.loads`` gives for it (no key twice, nothing nested
too deep, no number too long), and it leaves that document in the request's state under
``SCREENED_JSON``. A route of ``ScreenedBodyRoute`` validates that document rather than
decoding the same bytes a second time; the framework still decides from the Content-Type
whether the body is JSON at all, and a body other than the one screened is parsed as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

SCREENED_JSON = "screened_json"


@dataclass(frozen=True, slots=True)
class ScreenedJson:
    """A body as the edge read it, and the document it parsed to."""

    raw: bytes
    document: object


class ScreenedRequest(Request):
    async def json(self) -> Any:
        screened = self.scope.get("state", {}).get(SCREENED_JSON)
        if isinstance(screened, ScreenedJson) and await self.body() == screened.raw:
            return screened.document
        return await super().json()


class ScreenedBodyRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_screened(request: Request) -> Response:
            return await handle(ScreenedRequest(request.scope, request.receive))

        return handle_screened
