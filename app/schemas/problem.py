"""The problem+json body (RFC 9457), documented for the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from app.schemas.common import FieldProblemOut, ResponseModel
from scoring.crisis import CrisisNotice


class Problem(ResponseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblemOut] | None = None
    crisis: CrisisNotice | None = None


RETRY_AFTER: dict[str, dict[str, Any]] = {
    "Retry-After": {
        "description": "How many seconds to wait before sending the same request again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
"""The ``Retry-After`` header of a 503, documented."""

DATABASE_UNAVAILABLE = (
    "The database is unavailable for the moment (`/problems/database-unavailable`): nothing "
    "of the request was carried out. Send the same request again after `Retry-After` seconds "
    "(with the same `Idempotency-Key`, nothing is stored twice). The crisis notice the answers "
    "call for is included."
)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """``responses=`` for a route: each status documented as problem+json (the media type
    and schema are set once for the whole document by :mod:`app.openapi`). 503 is the
    database outage every route that reads or writes the database can answer, with
    ``Retry-After``."""
    documented: dict[int | str, dict[str, object]] = {}
    for status in statuses:
        documented[status] = {"model": Problem}
        if status == 503:
            documented[status].update(description=DATABASE_UNAVAILABLE, headers=RETRY_AFTER)
    return documented
