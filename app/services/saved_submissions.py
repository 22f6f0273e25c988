"""Submitting a saved response: scored from a snapshot in the request, then stored.

Submitting again returns the stored result. Through the process's writer
(:func:`submit_grouped`), the response is scored from a read-only snapshot; if it changed
between the snapshot and the write (answers saved, or submitted by another request), the
writer scores it again from what is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.errors import Conflict
from app.models import ResponseSession, ResponseStatus
from app.repositories import responses as responses_repo
from app.schemas.responses import Submitted
from app.services import scored_results
from app.services.locale import RequestLocale
from app.services.notices import counted, crisis_notice
from app.services.response_access import (
    ResponseContext,
    authorize,
    definition_of,
    record_risk,
    stored_result,
    stored_risk,
)
from app.services.submissions import SubmissionContext
from scoring.answers import check_answers
from scoring.catalog import Catalog
from scoring.engine import score
from scoring.risk import RiskAssessment, assess_risk, strongest


def _submitted_again(
    session: Session, catalog: Catalog, row: ResponseSession, country: str | None
) -> Submitted:
    notice = crisis_notice(catalog, stored_risk(row), country, row.language)
    result = stored_result(session, catalog, row, notice, country)
    assert result is not None, "a submitted response always has its result"
    return Submitted(response_id=row.id, status="submitted", result=result, crisis=notice)


def _score_saved(
    catalog: Catalog, row: ResponseSession, country: str | None, at: dt.datetime
) -> tuple[RiskAssessment, scored_results.Finished]:
    loaded = definition_of(catalog, row)
    definition = loaded.definition
    answers, problems = check_answers(definition, responses_repo.answers_of(row))
    if problems:
        raise Conflict(
            "The questionnaire changed since these answers were saved; please start again."
        )
    scoring = score(definition, answers)
    scored_results.require_complete(definition, scoring)
    peak = strongest([stored_risk(row), assess_risk(definition, answers)])
    result = scored_results.compose(catalog, loaded, scoring, peak, row.language, country)
    return peak, scored_results.finished(loaded, result, at)


def _finish_saved(
    session: Session, row: ResponseSession, peak: RiskAssessment, finished: scored_results.Finished
) -> Submitted:
    record_risk(row, peak)
    scored_results.mark_submitted(session, row, finished)
    scored_results.count_once_committed(session)
    result = finished.result
    return Submitted(
        response_id=row.id, status="submitted", result=result, crisis=counted(result.crisis)
    )


def submit(
    ctx: ResponseContext,
    response_id: str,
    token: str | None,
    locale: RequestLocale,
) -> Submitted:
    """Score and finish a response in the caller's session; submitting again returns the
    same result."""
    now = ctx.now()
    row = authorize(ctx.session, now, response_id, token, for_update=True)
    country = locale.country(row.country)
    if row.status == ResponseStatus.submitted.value:
        return _submitted_again(ctx.session, ctx.catalog, row, country)
    peak, finished = _score_saved(ctx.catalog, row, country, now)
    return _finish_saved(ctx.session, row, peak, finished)


def _scored_as(row: ResponseSession) -> tuple[object, ...]:
    """What a response's score depends on: if any of it changed, score again."""
    return (
        row.status,
        row.questionnaire_id,
        bytes(row.answers),
        row.answer_layout,
        row.crisis_level,
        list(row.crisis_items),
        row.language,
        row.country,
    )


@dataclass(frozen=True, slots=True)
class _PreparedSubmit:
    reply: Submitted | None  # already submitted: the reply, nothing to store
    scored_as: tuple[object, ...] = ()
    peak: RiskAssessment | None = None
    finished: scored_results.Finished | None = None


def _prepare_submit(
    ctx: SubmissionContext, response_id: str, token: str | None, locale: RequestLocale
) -> _PreparedSubmit:
    with Session(ctx.read_engine, expire_on_commit=False, autoflush=False) as session:
        try:
            now = dt.datetime.now(dt.UTC)
            row = authorize(session, now, response_id, token, for_update=False)
            country = locale.country(row.country)
            if row.status == ResponseStatus.submitted.value:
                return _PreparedSubmit(_submitted_again(session, ctx.catalog, row, country))
            peak, finished = _score_saved(ctx.catalog, row, country, now)
            return _PreparedSubmit(None, _scored_as(row), peak, finished)
        finally:
            session.rollback()


async def submit_grouped(
    ctx: SubmissionContext, response_id: str, token: str | None, locale: RequestLocale
) -> Submitted:
    """:func:`submit`, scored from a snapshot and stored by the process's writer. If the
    response changed between the snapshot and the write (answers saved, submitted by another
    request), the writer scores it again from what is stored."""
    prepared = await run_in_threadpool(_prepare_submit, ctx, response_id, token, locale)
    if prepared.reply is not None:
        return prepared.reply

    def store(session: Session) -> Submitted:
        row = authorize(session, dt.datetime.now(dt.UTC), response_id, token, for_update=True)
        if (
            prepared.finished is None
            or prepared.peak is None
            or _scored_as(row) != prepared.scored_as
        ):
            context = ResponseContext(session, ctx.catalog, ctx.settings)
            return submit(context, response_id, token, locale)
        return _finish_saved(session, row, prepared.peak, prepared.finished)

    return await ctx.writer.run(store)
