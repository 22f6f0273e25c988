"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.allowed_methods import AllowHeader
from app.api import batch, crisis, fhir, health, metrics, questionnaires, research, responses
from app.api.docs import install_api_docs
from app.api.problems import install_error_handlers
from app.cache_policy import cache_policy
from app.catalog import load_catalog
from app.config import Settings, get_settings
from app.db import create_db_engine
from app.edge.direct import DirectPath
from app.edge.middleware import RiskEdge
from app.logs import configure_logging
from app.middleware import ResponseFrameMiddleware
from app.migrations import head_revisions
from app.openapi import install_openapi
from app.web import routes as web
from app.web.rendering import STATIC_PREFIX, static_files
from scoring.catalog import Catalog

API_PREFIX = "/api/v1"

__all__ = ["create_app", "create_app_from_environment", "load_catalog"]


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    engine = create_db_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Secure Base",
        version="1.0.0",
        summary="Self-reflection about adult attachment: a validated questionnaire, honest "
        "scoring, psychoeducation, and crisis resources the moment answers indicate risk.",
        description="Results are for self-reflection and learning, not a diagnosis.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # The service's own metrics and access log tell operators what it does; FastAPI's
        # OpenTelemetry, on by default, would look for configured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.catalog = catalog or load_catalog(settings)
    app.state.engine = engine
    head_revisions()  # read once, here: /readyz compares the database with it
    install_error_handlers(app, browser_page=web.browser_error_page)
    install_openapi(app)
    # Starting a response is the hot path: its router is matched first, so that a submission
    # is not compared with every other router's routes on its way. It is documented in its
    # place among the others (below), so the OpenAPI document keeps its order. No other
    # route's path is one of its paths (FHIR's .../responses/{id}/fhir is not /{response_id}).
    app.include_router(responses.router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(batch.router, prefix=API_PREFIX)
    app.include_router(fhir.router, prefix=API_PREFIX)
    for router in (questionnaires.router, responses.router, crisis.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(research.router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(metrics.router)
    if settings.api_docs:
        install_api_docs(app)
    app.include_router(web.router)
    app.mount(STATIC_PREFIX, static_files(), name="static")
    # The layers of our own, outermost last: each wraps ``send`` once for all its jobs.
    app.add_middleware(
        RiskEdge,
        max_body_bytes=settings.max_body_bytes,
        max_batch_body_bytes=settings.max_batch_body_bytes,
        start_edits=(cache_policy, AllowHeader().edit),
    )
    app.add_middleware(ResponseFrameMiddleware)
    # Outermost: a request a route answers directly is answered from here, through the
    # same frame and edge but not the framework's layers (app.edge.direct).
    app.add_middleware(DirectPath)
    return app


def create_app_from_environment() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (one per worker process)."""
    return create_app()
