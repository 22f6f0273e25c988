"""Starting a response (and with ``submit``, finishing it in the same call).

Order of work: risk first (so the notice is ready even if the request fails), then validity,
then scoring, and only then storage. Nothing is written unless the whole request is valid.

Starting and submitting (``app.services.saved_submissions``) come in two halves: a *prepare*
half that needs no write transaction (validation, screening, scoring, composing the result and
cutting it into stored pieces), and a *store* half that does only the writing. A start is
prepared as the plain column values of its row (:class:`app.services.new_responses.NewResponse`);
the API hands it to the process's writer (``app.services.writer``), which stores the new
responses of many requests with one INSERT per table and commits them at once; the web
client and the command line store it the same way in their own session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.errors import FieldProblem, InvalidInput
from app.models import ResponseStatus
from app.repositories import research_codes
from app.repositories import responses as responses_repo
from app.schemas.responses import CreateResponseRequest, ResponseCreated
from app.security import digest, new_response_keys, seal
from app.services import idempotent_replies, new_responses, scored_results, stored_results, studies
from app.services.locale import RequestLocale
from app.services.new_responses import CREATE_SCOPE, KeyedStart, NewResponse
from app.services.notices import crisis_notice
from app.services.progress import progress_of
from app.services.response_access import ResponseContext, answer_problems
from app.services.writer import GroupWriter
from scoring import answer_copy
from scoring.answers import check_answers
from scoring.catalog import Catalog
from scoring.engine import score
from scoring.loading import LoadedDefinition
from scoring.risk import RiskAssessment, assess_risk


@dataclass(frozen=True, slots=True)
class SubmissionContext:
    """What the grouped use cases need: no session of their own, but a way to read (a
    read-only engine, never taking the write lock) and the process's writer."""

    catalog: Catalog
    settings: Settings
    read_engine: Engine
    writer: GroupWriter


@dataclass(frozen=True, slots=True)
class _CheckedStart:
    loaded: LoadedDefinition
    risk: RiskAssessment
    answers: dict[str, int]


def _check_start(catalog: Catalog, request: CreateResponseRequest) -> _CheckedStart:
    loaded = catalog.get(request.questionnaire_id)
    if loaded is None:
        raise InvalidInput(
            "Unknown questionnaire.",
            [FieldProblem("questionnaire_id", f"no questionnaire {request.questionnaire_id!r}")],
        )
    raw = request.answers or {}
    risk = assess_risk(loaded.definition, raw)
    answers, problems = check_answers(loaded.definition, raw)
    if problems:
        raise answer_problems(problems)
    return _CheckedStart(loaded, risk, answers)


def _prepare_start(
    catalog: Catalog,
    settings: Settings,
    request: CreateResponseRequest,
    checked: _CheckedStart,
    locale: RequestLocale,
    study: str | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> NewResponse:
    loaded = checked.loaded
    definition = loaded.definition
    if request.country is not None or request.lang is not None:
        locale = locale.with_explicit(request.country, request.lang)
    language = locale.language(definition.languages)
    country = locale.country()
    answers = checked.answers
    response_id, token = new_response_keys()
    # A new response has indicated nothing before: its peak is what its answers indicate
    # (assess_risk names each item once, as strongest would).
    peak = checked.risk
    notice = crisis_notice(catalog, peak, country, language)
    finished: scored_results.Finished | None = None
    if request.submit:
        scoring = score(definition, answers)
        scored_results.require_complete(definition, scoring)
        result = scored_results.compose(catalog, loaded, scoring, peak, language, country)
        finished = scored_results.finished(loaded, result, now)
    created = ResponseCreated(
        response_id=response_id,
        token=token,
        status="submitted" if request.submit else "in_progress",
        # A scored submission got here only with enough answers (require_complete).
        progress=progress_of(definition, answers, ready=True if finished is not None else None),
        result=finished.result if finished is not None else None,
        crisis=notice,
    )
    consent = request.consent.research
    packed = responses_repo.packed_answers(loaded.content_hash, definition, answers)
    # Every column but the ids of shared content; a submitted response's as
    # scored_results.mark_submitted sets them on a saved one.
    values = {
        "id": response_id,
        "token_hash": digest(token),
        "questionnaire_id": definition.id,
        "questionnaire_version": definition.version,
        "questionnaire_hash": loaded.content_hash,
        "language": language,
        "country": country,
        "study": study,
        "research_consent": consent,
        "status": ResponseStatus.in_progress.value,
        "answers": packed,
        "result_values": None,
        "primary_tendency": None,
        "crisis_level": peak.level,
        "research_answers": None,
        "research_codes": None,
        "crisis_items": list(peak.triggered_by),
        "created_at": now,
        "updated_at": now,
        "submitted_at": None,
        "expires_at": now + dt.timedelta(days=settings.incomplete_ttl_days),
    }
    pieces: tuple[stored_results.Content, ...] = ()
    if finished is not None:
        pieces = finished.compact.pieces
        # packed_answers packs in answer_copy.layout_of(definition): the copy's own layout.
        copy = answer_copy.copied_part(definition, packed) if consent else None
        values |= {
            "status": ResponseStatus.submitted.value,
            "result_values": finished.compact.values,
            "primary_tendency": finished.result.primary_tendency,
            "research_answers": copy,
            "research_codes": (
                None
                if copy is None
                else research_codes.codes_of(loaded.content_hash, definition, copy)
            ),
            "submitted_at": finished.at,
            "updated_at": finished.at,
            "expires_at": None,
        }
    keyed = None
    if idempotency_key is not None:
        fingerprint = idempotent_replies.fingerprint(request.model_dump(mode="json"))
        sealed = seal(created.model_dump_json().encode(), idempotency_key, CREATE_SCOPE)
        record = {
            "key_hash": idempotent_replies.key_hash(CREATE_SCOPE, idempotency_key),
            "request_fingerprint": fingerprint,
            "response_id": response_id,
            "status_code": 201,
            "sealed_body": sealed,
            "created_at": now,
        }
        keyed = KeyedStart(idempotency_key, fingerprint, record)
    layout = stored_results.Content(*responses_repo.packed_layout(loaded.content_hash))
    return NewResponse(values, layout, pieces, finished is not None, created, keyed)


def start(
    ctx: ResponseContext,
    request: CreateResponseRequest,
    locale: RequestLocale,
    idempotency_key: str | None,
) -> ResponseCreated:
    """Start a response in the caller's session; with ``submit`` and enough answers, finish
    it in the same call."""
    checked = _check_start(ctx.catalog, request)
    study = studies.resolve_study(ctx.session, request.study)
    prepared = _prepare_start(
        ctx.catalog, ctx.settings, request, checked, locale, study, idempotency_key, ctx.now()
    )
    return new_responses.store_one(ctx.session, prepared)


def _read_study(read_engine: Engine, enrolment_code: str) -> str | None:
    with Session(read_engine, autoflush=False) as session:
        try:
            return studies.resolve_study(session, enrolment_code)
        finally:
            session.rollback()


async def start_grouped(
    ctx: SubmissionContext,
    request: CreateResponseRequest,
    locale: RequestLocale,
    idempotency_key: str | None,
) -> ResponseCreated:
    """:func:`start`, stored by the process's writer with other requests' writes: the reply
    comes once the group it was stored in has committed."""
    checked = _check_start(ctx.catalog, request)
    study = None
    if request.study is not None:
        study = await run_in_threadpool(_read_study, ctx.read_engine, request.study)
    now = dt.datetime.now(dt.UTC)
    prepared = _prepare_start(
        ctx.catalog, ctx.settings, request, checked, locale, study, idempotency_key, now
    )
    return await ctx.writer.run_together(new_responses.store, prepared)
