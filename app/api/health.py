"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from app.deps import ReadEngineDep
from app.errors import RETRY_AFTER_SECONDS, DatabaseUnavailable, ServiceUnavailable
from app.migrations import is_at_head
from app.schemas.common import ResponseModel
from app.schemas.problem import problem_responses


class Health(ResponseModel):
    status: str


router = APIRouter(tags=["operations"])
NOT_READY = (
    "Not ready, with `Retry-After` either way: the database cannot be reached "
    "(`/problems/database-unavailable`) or its schema is not at the latest migration "
    "(`/problems/unavailable`: run `securebase db upgrade`)."
)


@router.get("/healthz", response_model=Health, operation_id="getHealth", summary="Liveness")
def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    operation_id="getReadiness",
    summary="Readiness",
    responses={503: {**problem_responses(503)[503], "description": NOT_READY}},
)
def readyz(engine: ReadEngineDep) -> Health:
    """The database is reachable and its schema is at the latest migration (the one this
    process's code was started with). Not ready is 503 with ``Retry-After``, for either cause:
    both pass without restarting anything (the database comes back, the rollout's migration
    runs), so a poller such as a deploy script waiting for the instance is told when to ask
    again. ``/healthz`` stays 200 meanwhile, since restarting the process would not help."""
    try:
        at_head = is_at_head(engine)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable("The database cannot be reached.") from exc
    if not at_head:
        raise ServiceUnavailable(
            "The database schema is not at the latest migration.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return Health(status="ready")
