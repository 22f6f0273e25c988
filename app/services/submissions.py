"""Starting a response (and with ``submit``, finishing it in the same call).

Order of work: risk first (so the notice is ready even if the request fails), then validity,
then scoring, and only then storage. Nothing is written unless the whole request is valid.

Starting and submitting (``app.services.saved_submissions``) come in two halves: a *prepare*
half that needs no write transaction (validation, screening, scoring, composing the result and
cutting it into stored pieces), and a *store* half, a function of a write session that does
only the writing. The API hands the store half to the process's writer
(``app.services.writer``), which commits many requests' writes at once; the web client and
the command line run both halves in their own session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.errors import Conflict, FieldProblem, InvalidInput
from app.models import IdempotencyRecord, ResponseSession, ResponseStatus
from app.repositories import idempotency as idempotency_repo
from app.repositories import responses as responses_repo
from app.schemas.responses import CreateResponseRequest, ResponseCreated
from app.security import digest, new_response_id, new_token, seal
from app.services import idempotent_replies, scored_results, studies
from app.services.locale import RequestLocale
from app.services.notices import crisis_notice
from app.services.progress import progress_of
from app.services.response_access import (
    ResponseContext,
    answer_problems,
    record_risk,
)
from app.services.writer import GroupWriter
from scoring.answers import check_answers
from scoring.catalog import Catalog
from scoring.engine import score
from scoring.loading import LoadedDefinition
from scoring.risk import RiskAssessment, assess_risk

CREATE_SCOPE = "responses.create"


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


@dataclass(frozen=True, slots=True)
class PreparedStart:
    """A new response, checked, screened and (with ``submit``) scored: ready to store."""

    row: ResponseSession
    created: ResponseCreated
    finished: scored_results.Finished | None
    idempotency_key: str | None
    fingerprint: str

    def store(self, session: Session) -> ResponseCreated:
        """Store the response (once per Idempotency-Key); the reply to send."""
        key = self.idempotency_key
        if key is None:
            self._store_row(session)
            responses_repo.add(session, self.row)
            self._count(session)
            return self.created
        hashed = idempotent_replies.key_hash(CREATE_SCOPE, key)
        previous = idempotency_repo.get(session, hashed)
        if previous is None:
            self._store_row(session)
            record = IdempotencyRecord(
                key_hash=hashed,
                request_fingerprint=self.fingerprint,
                response_id=self.row.id,
                status_code=201,
                sealed_body=seal(self.created.model_dump_json().encode(), key, CREATE_SCOPE),
                created_at=self.row.created_at,
            )
            if idempotency_repo.add_unless_taken(session, self.row, record):
                self._count(session)
                return self.created
            # A concurrent request with the same key won; answer as it did.
            previous = idempotency_repo.get(session, hashed)
            if previous is None:  # pragma: no cover - the unique key was taken, so it exists
                raise Conflict("A request with this Idempotency-Key is still being processed.")
        body = idempotent_replies.replay(previous, key, CREATE_SCOPE, self.fingerprint)
        return ResponseCreated.model_validate_json(body)

    def _count(self, session: Session) -> None:
        if self.finished is not None:
            scored_results.count_once_committed(session)

    def _store_row(self, session: Session) -> None:
        if self.finished is not None:
            scored_results.mark_submitted(session, self.row, self.finished)


def _prepare_start(
    catalog: Catalog,
    settings: Settings,
    request: CreateResponseRequest,
    checked: _CheckedStart,
    locale: RequestLocale,
    study: str | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> PreparedStart:
    loaded = checked.loaded
    definition = loaded.definition
    locale = locale.with_explicit(request.country, request.lang)
    language = locale.language(definition.languages)
    country = locale.country()
    answers = checked.answers
    token = new_token()
    row = ResponseSession(
        id=new_response_id(),
        token_hash=digest(token),
        questionnaire_id=definition.id,
        questionnaire_version=definition.version,
        questionnaire_hash=loaded.content_hash,
        language=language,
        country=country,
        study=study,
        research_consent=request.consent.research,
        status=ResponseStatus.in_progress.value,
        answers=responses_repo.packed_answers(loaded.content_hash, definition, answers),
        # Given, not left to the model's default factory, which costs a signature inspection
        # per row; record_risk below sets the level and items.
        crisis_items=[],
        created_at=now,
        updated_at=now,
        expires_at=now + dt.timedelta(days=settings.incomplete_ttl_days),
    )
    peak = record_risk(row, checked.risk)
    notice = crisis_notice(catalog, peak, country, language)
    finished: scored_results.Finished | None = None
    if request.submit:
        scoring = score(definition, answers)
        scored_results.require_complete(scoring)
        result = scored_results.compose(catalog, loaded, scoring, peak, language, country)
        finished = scored_results.finished(loaded, result, now)
    created = ResponseCreated(
        response_id=row.id,
        token=token,
        status="submitted" if request.submit else "in_progress",
        progress=progress_of(definition, answers),
        result=finished.result if finished is not None else None,
        crisis=notice,
    )
    fingerprint = idempotent_replies.fingerprint(request.model_dump(mode="json"))
    return PreparedStart(row, created, finished, idempotency_key, fingerprint)


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
    return prepared.store(ctx.session)


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
    return await ctx.writer.run(prepared.store)
