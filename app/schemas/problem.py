"""The problem+json body (RFC 9457), documented for the OpenAPI schema."""

from __future__ import annotations

from app.schemas.common import FieldProblemOut, ResponseModel
from scoring.crisis import CrisisNotice


class Problem(ResponseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblemOut] | None = None
    crisis: CrisisNotice | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """``responses=`` for a route: each status documented as problem+json (the media type
    and schema are set once for the whole document by :mod:`app.openapi`)."""
    return {status: {"model": Problem} for status in statuses}
