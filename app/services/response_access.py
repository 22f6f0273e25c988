"""Finding a stored response and reading what it keeps: the token check, its stored crisis
level, its questionnaire and its stored result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from app.errors import Conflict, FieldProblem, InvalidInput, NotFound
from app.models import ResponseSession
from app.repositories import responses as responses_repo
from app.repositories import result_content as result_content_repo
from app.security import digest, token_matches
from app.services import stored_results
from app.services.context import ServiceContext
from scoring.answers import AnswerProblem
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER
from scoring.loading import LoadedDefinition
from scoring.result import ScoreResult
from scoring.risk import RiskAssessment, strongest

NOT_FOUND = "No response with this id, or the token does not match."


@dataclass(frozen=True, slots=True)
class ResponseContext(ServiceContext):
    """The service context, and when an unfinished response started now would expire."""

    def expiry(self) -> dt.datetime:
        return self.now() + dt.timedelta(days=self.settings.incomplete_ttl_days)


def utc(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def answer_problems(problems: list[AnswerProblem]) -> InvalidInput:
    return InvalidInput(
        "Some answers are not valid.",
        [FieldProblem(p.item, p.message) for p in problems],
    )


def stored_risk(row: ResponseSession) -> RiskAssessment:
    for level in CRISIS_LEVEL_ORDER:
        if row.crisis_level == level:
            return RiskAssessment(level, tuple(row.crisis_items))
    return RiskAssessment(None, ())


def record_risk(row: ResponseSession, risk: RiskAssessment) -> RiskAssessment:
    """Keep the highest level the response has ever indicated; return it."""
    peak = strongest([stored_risk(row), risk])
    row.crisis_level = peak.level
    row.crisis_items = list(peak.triggered_by)
    return peak


def definition_of(catalog: Catalog, row: ResponseSession) -> LoadedDefinition:
    loaded = catalog.get(row.questionnaire_id)
    if loaded is None:
        raise Conflict(f"The questionnaire {row.questionnaire_id!r} is no longer offered.")
    return loaded


def authorize(
    session: Session, now: dt.datetime, response_id: str, token: str | None, *, for_update: bool
) -> ResponseSession:
    """The same 404 for an unknown id, a missing token, a wrong token and an unfinished
    response past its expiry (gone in all but the next ``securebase purge``)."""
    row = responses_repo.get(session, response_id, for_update=for_update)
    expected = row.token_hash if row is not None else digest("")
    if not token_matches(token or "", expected) or row is None or not token:
        raise NotFound(NOT_FOUND)
    if row.expires_at is not None and utc(row.expires_at) <= now:
        raise NotFound(NOT_FOUND)
    return row


def stored_result(
    session: Session,
    catalog: Catalog,
    row: ResponseSession,
    notice: CrisisNotice | None,
    country: str | None,
) -> ScoreResult | None:
    """The result as it was scored at submission, with today's notice and help footer."""
    if row.result_frame is None or row.result_values is None:
        return None
    (frame,) = result_content_repo.bodies(session, [row.result_frame])
    piece_ids = [int(ident) for ident in frame.split(stored_results.SEPARATOR)]
    return stored_results.compose(
        result_content_repo.bodies(session, piece_ids),
        row.result_values,
        notice,
        catalog.crisis.help(country, row.language),
    )
