"""Which requests the outermost layer answers directly (app.edge.direct): only those the
router itself would hand to a route with a direct answer. A route or a mount tried before it
that takes the same method and path keeps the request, and a path with parameters is left to
the router."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.staticfiles import StaticFiles

from app.api.direct import DirectRoute, answered_directly, direct_routes
from app.config import Settings
from app.main import create_app


async def _declines(request: Request) -> Response | None:
    return None


def _router() -> APIRouter:
    router = APIRouter(route_class=DirectRoute)

    @router.post("/things")
    @answered_directly(_declines)
    async def make_thing() -> dict[str, str]:
        return {}

    @router.get("/things/{thing_id}")
    @answered_directly(_declines)
    async def read_thing(thing_id: str) -> dict[str, str]:
        return {}

    return router


def test_a_route_with_a_direct_answer_is_found_under_its_full_path() -> None:
    app = FastAPI()
    app.include_router(_router(), prefix="/api")
    found = direct_routes(app.routes)
    assert list(found) == [("POST", "/api/things")]
    assert found[("POST", "/api/things")].name == "make_thing"


def test_a_route_tried_first_for_the_same_method_and_path_keeps_its_requests() -> None:
    app = FastAPI()

    @app.post("/api/things")
    async def earlier() -> dict[str, str]:
        return {}

    app.include_router(_router(), prefix="/api")
    assert direct_routes(app.routes) == {}


def test_a_route_tried_first_for_another_method_does_not() -> None:
    app = FastAPI()

    @app.get("/api/things")
    async def listing() -> list[str]:
        return []

    app.include_router(_router(), prefix="/api")
    assert list(direct_routes(app.routes)) == [("POST", "/api/things")]


def test_a_mount_above_the_path_keeps_its_requests(tmp_path: Path) -> None:
    app = FastAPI()
    app.mount("/api", StaticFiles(directory=str(tmp_path)), name="files")
    app.include_router(_router(), prefix="/api")
    assert direct_routes(app.routes) == {}


def test_the_service_answers_only_the_start_of_a_response_directly() -> None:
    app = create_app(Settings(environment="test", database_url="sqlite://"))
    assert list(direct_routes(app.routes)) == [("POST", "/api/v1/responses")]
    app.state.engine.dispose()
