"""Requests and answers of batch scoring: many answer sets, one result (or problems) each."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import FieldProblemOut, ResponseModel
from app.schemas.responses import ScoreRequest
from scoring.crisis import CrisisNotice
from scoring.result import ScoreResult


class BatchRequest(ResponseModel):
    """Documents the body; rows are validated one by one, so a bad row fails alone."""

    responses: list[ScoreRequest] = Field(
        max_length=10_000,
        description="Up to 10,000 answer sets, each as the body of POST .../score.",
    )


class RowProblems(ResponseModel):
    """A row that could not be scored: its own problems, and help when its answers call for it."""

    errors: list[FieldProblemOut]
    crisis: CrisisNotice | None = None


class BatchResults(ResponseModel):
    results: list[ScoreResult | RowProblems] = Field(
        description="One entry per row, in input order: the result exactly as POST .../score "
        "returns it, or that row's problems."
    )
