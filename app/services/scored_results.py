"""A scored response's result: composed from its scores, cut into the pieces it is stored
as (in the request, before any write) and stored with the response (in the write)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import event
from sqlmodel import Session

from app.errors import FieldProblem, InvalidInput
from app.metrics import SUBMISSIONS
from app.models import ResponseSession, ResponseStatus
from app.repositories import research_codes
from app.repositories import responses as responses_repo
from app.repositories import result_content as result_content_repo
from app.services import stored_results
from scoring import answer_copy
from scoring.catalog import Catalog
from scoring.definition import Definition
from scoring.engine import DimensionScore, Scoring
from scoring.loading import LoadedDefinition
from scoring.result import ScoreResult, compose_result
from scoring.risk import RiskAssessment
from scoring.submitting import shortfall


def require_complete(definition: Definition, scoring: Scoring) -> None:
    """Refuse (422, naming each dimension) a scored answer set that may not be submitted, by
    :mod:`scoring.submitting`'s rule: without relationships every dimension needs enough
    answers; with them, a relationship left out is fine, one answered in part is not, and at
    least one must be answered in full."""
    if not definition.targets:
        # Every questionnaire without relationships, on the hot submit path: as it always was.
        _refuse(TOO_FEW, [d for d in scoring.dimensions.values() if not d.sufficient])
        return
    short = shortfall(definition, scoring.dimensions)
    _refuse(NO_RELATIONSHIP if short.nothing_answered else IN_PART, short.dimensions)


TOO_FEW = "Too few answers to submit."
IN_PART = (
    "Too few answers to submit: a relationship answered in part needs enough answers for each "
    "of its dimensions (a relationship that does not apply is left out by answering none of "
    "its statements)."
)
NO_RELATIONSHIP = (
    "Too few answers to submit: at least one relationship must be answered in full, and none "
    "is answered (a relationship that does not apply is left out by answering none of its "
    "statements)."
)


def _refuse(detail: str, dimensions: Sequence[DimensionScore]) -> None:
    if dimensions:
        raise InvalidInput(
            detail,
            [
                FieldProblem(
                    d.dimension,
                    f"{d.answered} of {d.of} items answered; "
                    f"at least {d.needed} are needed to submit",
                )
                for d in dimensions
            ],
        )


def compose(
    catalog: Catalog,
    loaded: LoadedDefinition,
    scoring: Scoring,
    risk: RiskAssessment,
    language: str,
    country: str | None,
) -> ScoreResult:
    result = compose_result(
        definition=loaded.definition,
        definition_hash=loaded.content_hash,
        scoring=scoring,
        risk=risk,
        language=language,
        country=country,
        content=catalog.content,
        crisis=catalog.crisis,
    )
    # Norms are added here, so the stored result keeps the percentiles it was shown.
    return catalog.with_norms(loaded, result)


@dataclass(frozen=True, slots=True)
class Finished:
    """A scored response, its result cut into the pieces it is stored as."""

    loaded: LoadedDefinition
    result: ScoreResult
    compact: stored_results.CompactResult
    at: dt.datetime


def finished(loaded: LoadedDefinition, result: ScoreResult, at: dt.datetime) -> Finished:
    return Finished(loaded, result, stored_results.split(result), at)


def count_once_committed(session: Session, submissions: int = 1) -> None:
    """Count ``submissions`` when the session's transaction commits: a write run again after
    a neighbour's failure, or rolled back, is not counted."""
    event.listen(session, "after_commit", lambda _session: SUBMISSIONS.inc(submissions), once=True)


def mark_submitted(session: Session, row: ResponseSession, finished: Finished) -> None:
    compact = finished.compact
    row.status = ResponseStatus.submitted.value
    piece_ids = result_content_repo.keep(session, [(p.hash, p.body) for p in compact.pieces])
    frame = stored_results.frame_of(piece_ids)
    (row.result_frame,) = result_content_repo.keep(session, [(frame.hash, frame.body)])
    row.result_values = compact.values
    row.primary_tendency = finished.result.primary_tendency
    row.questionnaire_version = finished.loaded.definition.version
    row.questionnaire_hash = finished.loaded.content_hash
    if row.research_consent:
        answers = responses_repo.answers_of(row)
        row.research_answers = answer_copy.encode(finished.loaded.definition, answers)
        row.research_codes = research_codes.codes_of(
            finished.loaded.content_hash, finished.loaded.definition, row.research_answers
        )
    row.submitted_at = finished.at
    row.updated_at = finished.at
    row.expires_at = None
