"""Response sessions: save answers, read, erase, purge, and keep the crisis level seen.

Starting and submitting a response live in ``app.services.submissions`` and
``app.services.saved_submissions`` (re-exported here for the web client and the tests).

The crisis level stored with a response is the highest it has ever indicated: changing an
answer back lowers neither the stored level nor the notice shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.errors import Conflict, NotFound
from app.models import ResponseSession, ResponseStatus
from app.repositories import idempotency as idempotency_repo
from app.repositories import responses as responses_repo
from app.schemas.responses import AnswersSaved, ResponseView, SaveAnswersRequest
from app.services.locale import RequestLocale
from app.services.notices import crisis_notice
from app.services.progress import progress_of
from app.services.response_access import (
    NOT_FOUND,
    ResponseContext,
    answer_problems,
    authorize,
    definition_of,
    record_risk,
    stored_result,
    stored_risk,
    utc,
)
from app.services.saved_submissions import submit
from app.services.submissions import start
from scoring.answers import check_answers
from scoring.result import QuestionnaireRef
from scoring.risk import RiskAssessment, assess_risk, strongest

__all__ = [
    "NOT_FOUND",
    "PurgeReport",
    "ResponseContext",
    "StoredRisk",
    "erase",
    "keep_seen_risk",
    "purge",
    "read",
    "save_answers",
    "start",
    "submit",
]


def _authorize(
    ctx: ResponseContext, response_id: str, token: str | None, *, for_update: bool = False
) -> ResponseSession:
    return authorize(ctx.session, ctx.now(), response_id, token, for_update=for_update)


def save_answers(
    ctx: ResponseContext,
    response_id: str,
    token: str | None,
    request: SaveAnswersRequest,
    locale: RequestLocale,
) -> AnswersSaved:
    """Merge answers into an unsubmitted response."""
    row = _authorize(ctx, response_id, token, for_update=True)
    loaded = definition_of(ctx.catalog, row)
    definition = loaded.definition
    locale = locale.with_explicit(request.country, request.lang)
    language = locale.language(definition.languages, row.language)
    country = locale.country(row.country)
    risk = assess_risk(definition, request.answers)
    if row.status == ResponseStatus.submitted.value:
        raise Conflict("This response is submitted; its answers can no longer change.")
    answers, problems = check_answers(definition, request.answers)
    if problems:
        raise answer_problems(problems)
    merged = {**responses_repo.answers_of(row), **answers}
    responses_repo.write_answers(ctx.session, row, definition, merged)
    row.language = language
    row.updated_at = ctx.now()
    row.expires_at = ctx.expiry()
    peak = record_risk(row, strongest([risk, assess_risk(definition, merged)]))
    return AnswersSaved(
        status="in_progress",
        progress=progress_of(definition, merged),
        crisis=crisis_notice(ctx.catalog, peak, country, language),
    )


def read(
    ctx: ResponseContext, response_id: str, token: str | None, locale: RequestLocale
) -> ResponseView:
    """Everything stored about a response, with the crisis notice its answers call for."""
    row = _authorize(ctx, response_id, token)
    country = locale.country(row.country)
    loaded = ctx.catalog.get(row.questionnaire_id)
    risk = stored_risk(row)
    answers = responses_repo.answers_of(row)
    if loaded is not None:
        risk = strongest([risk, assess_risk(loaded.definition, answers)])
    notice = crisis_notice(ctx.catalog, risk, country, row.language)
    progress = progress_of(loaded.definition, answers) if loaded is not None else None
    if progress is None:
        raise Conflict(f"The questionnaire {row.questionnaire_id!r} is no longer offered.")
    return ResponseView(
        response_id=row.id,
        status="submitted" if row.status == ResponseStatus.submitted.value else "in_progress",
        questionnaire=QuestionnaireRef(
            id=row.questionnaire_id, version=row.questionnaire_version, hash=row.questionnaire_hash
        ),
        language=row.language,
        country=row.country,
        study=row.study,
        consent={"research": row.research_consent},
        answers=answers,
        progress=progress,
        result=stored_result(ctx.session, ctx.catalog, row, notice, country),
        crisis=notice,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        submitted_at=utc(row.submitted_at) if row.submitted_at else None,
    )


def erase(ctx: ResponseContext, response_id: str, token: str | None) -> None:
    """Erase a response and everything derived from it."""
    row = _authorize(ctx, response_id, token, for_update=True)
    responses_repo.erase(ctx.session, row)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    incomplete_responses: int
    idempotency_records: int


def purge(ctx: ResponseContext) -> PurgeReport:
    """Delete incomplete responses past their expiry and idempotency records past theirs."""
    now = ctx.now()
    responses = responses_repo.delete_expired_incomplete(ctx.session, now)
    records = idempotency_repo.delete_older_than(
        ctx.session, now - dt.timedelta(hours=ctx.settings.idempotency_ttl_hours)
    )
    return PurgeReport(responses, records)


@dataclass(frozen=True, slots=True)
class StoredRisk:
    """What the risk edge needs to know about the response a request is about."""

    risk: RiskAssessment
    country: str | None
    language: str


def keep_seen_risk(
    ctx: ResponseContext, response_id: str, token: str | None, seen: RiskAssessment
) -> StoredRisk | None:
    """Raise an authorized response's stored level to ``seen`` (never lower it) and return
    the level now stored; None when the id and token open nothing. Only the level and the
    items that raised it are written: nothing else from the request that carried them."""
    try:
        row = _authorize(ctx, response_id, token, for_update=seen.indicated)
    except NotFound:
        return None
    stored = stored_risk(row)
    if seen.indicated:
        peak = strongest([stored, seen])
        if peak != stored:
            stored = record_risk(row, peak)
            ctx.session.add(row)
    return StoredRisk(stored, row.country, row.language)
