"""Response sessions: start, save answers, submit, read, erase, purge.

Order of work in every use case that sees answers: risk first (so the notice is ready even if
the request fails), then validity, then storage. Nothing is written unless the whole request
is valid; the session dependency commits once at the end or rolls everything back.

The crisis level stored with a response is the highest it has ever indicated: changing an
answer back lowers neither the stored level nor the notice shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from app.errors import Conflict, FieldProblem, InvalidInput, NotFound
from app.metrics import SUBMISSIONS
from app.models import IdempotencyRecord, ResponseSession, ResponseStatus
from app.repositories import idempotency as idempotency_repo
from app.repositories import responses as responses_repo
from app.repositories import result_content as result_content_repo
from app.schemas.responses import (
    AnswersSaved,
    CreateResponseRequest,
    ResponseCreated,
    ResponseView,
    SaveAnswersRequest,
    Submitted,
)
from app.security import digest, new_response_id, new_token, seal, token_matches, unseal
from app.services import stored_results, studies
from app.services.context import ServiceContext
from app.services.locale import RequestLocale
from app.services.notices import counted, crisis_notice
from app.services.progress import progress_of
from scoring import answer_copy
from scoring.answers import AnswerProblem, check_answers
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER
from scoring.engine import Scoring, score
from scoring.loading import LoadedDefinition
from scoring.result import QuestionnaireRef, ScoreResult, compose_result
from scoring.risk import RiskAssessment, assess_risk, strongest

NOT_FOUND = "No response with this id, or the token does not match."


@dataclass(frozen=True, slots=True)
class ResponseContext(ServiceContext):
    """The service context, and when an unfinished response started now would expire."""

    def expiry(self) -> dt.datetime:
        return self.now() + dt.timedelta(days=self.settings.incomplete_ttl_days)


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _answer_problems(problems: list[AnswerProblem]) -> InvalidInput:
    return InvalidInput(
        "Some answers are not valid.",
        [FieldProblem(p.item, p.message) for p in problems],
    )


def _require_complete(loaded: LoadedDefinition, scoring: Scoring) -> None:
    missing = [
        FieldProblem(
            dimension.dimension,
            f"{dimension.answered} of {dimension.of} items answered; "
            f"at least {dimension.needed} are needed to submit",
        )
        for dimension in scoring.dimensions.values()
        if not dimension.sufficient
    ]
    if missing:
        raise InvalidInput("Too few answers to submit.", missing)


def _stored_risk(row: ResponseSession) -> RiskAssessment:
    for level in CRISIS_LEVEL_ORDER:
        if row.crisis_level == level:
            return RiskAssessment(level, tuple(row.crisis_items))
    return RiskAssessment(None, ())


def _record_risk(row: ResponseSession, risk: RiskAssessment) -> RiskAssessment:
    peak = strongest([_stored_risk(row), risk])
    row.crisis_level = peak.level
    row.crisis_items = list(peak.triggered_by)
    return peak


def _definition_of(ctx: ResponseContext, row: ResponseSession) -> LoadedDefinition:
    loaded = ctx.catalog.get(row.questionnaire_id)
    if loaded is None:
        raise Conflict(f"The questionnaire {row.questionnaire_id!r} is no longer offered.")
    return loaded


def _authorize(
    ctx: ResponseContext, response_id: str, token: str | None, *, for_update: bool = False
) -> ResponseSession:
    """The same 404 for an unknown id, a missing token, a wrong token and an unfinished
    response past its expiry (gone in all but the next ``securebase purge``)."""
    row = responses_repo.get(ctx.session, response_id, for_update=for_update)
    expected = row.token_hash if row is not None else digest("")
    if not token_matches(token or "", expected) or row is None or not token:
        raise NotFound(NOT_FOUND)
    if row.expires_at is not None and _utc(row.expires_at) <= ctx.now():
        raise NotFound(NOT_FOUND)
    return row


def _compose(
    ctx: ResponseContext,
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
        content=ctx.catalog.content,
        crisis=ctx.catalog.crisis,
    )
    # Norms are added here, so the stored result keeps the percentiles it was shown.
    return ctx.catalog.with_norms(loaded, result)


def _stored_result(
    ctx: ResponseContext, row: ResponseSession, notice: CrisisNotice | None, country: str | None
) -> ScoreResult | None:
    """The result as it was scored at submission, with today's notice and help footer."""
    if row.result_frame is None or row.result_values is None:
        return None
    (frame,) = result_content_repo.bodies(ctx.session, [row.result_frame])
    piece_ids = [int(ident) for ident in frame.split(stored_results.SEPARATOR)]
    return stored_results.compose(
        result_content_repo.bodies(ctx.session, piece_ids),
        row.result_values,
        notice,
        ctx.catalog.crisis.help(country, row.language),
    )


def _fingerprint(payload: Mapping[str, object]) -> str:
    return digest(json.dumps(payload, sort_keys=True, separators=(",", ":")))


def _replay(record: IdempotencyRecord, key: str, scope: str, fingerprint: str) -> bytes:
    if record.request_fingerprint != fingerprint:
        raise InvalidInput(
            "This Idempotency-Key was already used with a different request.",
            [FieldProblem("Idempotency-Key", "already used with a different request")],
        )
    body = unseal(record.sealed_body, key, scope)
    if body is None:  # pragma: no cover - only if the stored record was tampered with
        raise Conflict("The remembered answer for this Idempotency-Key cannot be read.")
    return body


def start(
    ctx: ResponseContext,
    request: CreateResponseRequest,
    locale: RequestLocale,
    idempotency_key: str | None,
) -> ResponseCreated:
    """Start a response; with ``submit`` and enough answers, finish it in the same call."""
    loaded = ctx.catalog.get(request.questionnaire_id)
    if loaded is None:
        raise InvalidInput(
            "Unknown questionnaire.",
            [FieldProblem("questionnaire_id", f"no questionnaire {request.questionnaire_id!r}")],
        )
    definition = loaded.definition
    locale = locale.with_explicit(request.country, request.lang)
    language = locale.language(definition.languages)
    country = locale.country()
    raw = request.answers or {}
    risk = assess_risk(definition, raw)
    answers, problems = check_answers(definition, raw)
    if problems:
        raise _answer_problems(problems)
    study = studies.resolve_study(ctx.session, request.study)

    scope = "responses.create"
    key_hash = digest(f"{scope}\0{idempotency_key}") if idempotency_key else None
    fingerprint = _fingerprint(request.model_dump(mode="json"))
    if idempotency_key and key_hash:
        previous = idempotency_repo.get(ctx.session, key_hash)
        if previous is not None:
            body = _replay(previous, idempotency_key, scope, fingerprint)
            return ResponseCreated.model_validate_json(body)

    now = ctx.now()
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
        answers=answers,
        created_at=now,
        updated_at=now,
        expires_at=ctx.expiry(),
    )
    peak = _record_risk(row, risk)
    notice = crisis_notice(ctx.catalog, peak, country, language)
    result: ScoreResult | None = None
    if request.submit:
        scoring = score(definition, answers)
        _require_complete(loaded, scoring)
        result = _compose(ctx, loaded, scoring, peak, language, country)
        _mark_submitted(ctx.session, row, loaded, result, now)
    created = ResponseCreated(
        response_id=row.id,
        token=token,
        status="submitted" if request.submit else "in_progress",
        progress=progress_of(definition, answers),
        result=result,
        crisis=notice,
    )
    if not (idempotency_key and key_hash):
        responses_repo.add(ctx.session, row)
        return created
    record = IdempotencyRecord(
        key_hash=key_hash,
        request_fingerprint=fingerprint,
        response_id=row.id,
        status_code=201,
        sealed_body=seal(created.model_dump_json().encode(), idempotency_key, scope),
        created_at=now,
    )
    if idempotency_repo.add_unless_taken(ctx.session, row, record):
        return created
    # A concurrent request with the same key won; answer as it did.
    winner = idempotency_repo.get(ctx.session, key_hash)
    if winner is None:  # pragma: no cover - the unique key was taken, so the row exists
        raise Conflict("A request with this Idempotency-Key is still being processed.")
    return ResponseCreated.model_validate_json(_replay(winner, idempotency_key, scope, fingerprint))


def _mark_submitted(
    session: Session,
    row: ResponseSession,
    loaded: LoadedDefinition,
    result: ScoreResult,
    now: dt.datetime,
) -> None:
    SUBMISSIONS.inc()
    row.status = ResponseStatus.submitted.value
    compact = stored_results.split(result)
    piece_ids = result_content_repo.keep(session, [(p.hash, p.body) for p in compact.pieces])
    frame = stored_results.frame_of(piece_ids)
    (row.result_frame,) = result_content_repo.keep(session, [(frame.hash, frame.body)])
    row.result_values = compact.values
    row.primary_tendency = result.primary_tendency
    row.questionnaire_version = loaded.definition.version
    row.questionnaire_hash = loaded.content_hash
    if row.research_consent:
        row.research_answers = answer_copy.encode(loaded.definition, row.answers)
    row.submitted_at = now
    row.updated_at = now
    row.expires_at = None


def save_answers(
    ctx: ResponseContext,
    response_id: str,
    token: str | None,
    request: SaveAnswersRequest,
    locale: RequestLocale,
) -> AnswersSaved:
    """Merge answers into an unsubmitted response."""
    row = _authorize(ctx, response_id, token, for_update=True)
    loaded = _definition_of(ctx, row)
    definition = loaded.definition
    locale = locale.with_explicit(request.country, request.lang)
    language = locale.language(definition.languages, row.language)
    country = locale.country(row.country)
    risk = assess_risk(definition, request.answers)
    if row.status == ResponseStatus.submitted.value:
        raise Conflict("This response is submitted; its answers can no longer change.")
    answers, problems = check_answers(definition, request.answers)
    if problems:
        raise _answer_problems(problems)
    merged = {**row.answers, **answers}
    row.answers = merged
    row.language = language
    row.updated_at = ctx.now()
    row.expires_at = ctx.expiry()
    peak = _record_risk(row, strongest([risk, assess_risk(definition, merged)]))
    return AnswersSaved(
        status="in_progress",
        progress=progress_of(definition, merged),
        crisis=crisis_notice(ctx.catalog, peak, country, language),
    )


def submit(
    ctx: ResponseContext,
    response_id: str,
    token: str | None,
    locale: RequestLocale,
) -> Submitted:
    """Score and finish a response; submitting again returns the same result."""
    row = _authorize(ctx, response_id, token, for_update=True)
    country = locale.country(row.country)
    if row.status == ResponseStatus.submitted.value:
        notice = crisis_notice(ctx.catalog, _stored_risk(row), country, row.language)
        result = _stored_result(ctx, row, notice, country)
        assert result is not None, "a submitted response always has its result"
        return Submitted(response_id=row.id, status="submitted", result=result, crisis=notice)
    loaded = _definition_of(ctx, row)
    definition = loaded.definition
    answers, problems = check_answers(definition, row.answers)
    if problems:
        raise Conflict(
            "The questionnaire changed since these answers were saved; please start again."
        )
    scoring = score(definition, answers)
    _require_complete(loaded, scoring)
    peak = _record_risk(row, assess_risk(definition, answers))
    result = _compose(ctx, loaded, scoring, peak, row.language, country)
    _mark_submitted(ctx.session, row, loaded, result, ctx.now())
    return Submitted(
        response_id=row.id, status="submitted", result=result, crisis=counted(result.crisis)
    )


def read(
    ctx: ResponseContext, response_id: str, token: str | None, locale: RequestLocale
) -> ResponseView:
    """Everything stored about a response, with the crisis notice its answers call for."""
    row = _authorize(ctx, response_id, token)
    country = locale.country(row.country)
    loaded = ctx.catalog.get(row.questionnaire_id)
    risk = _stored_risk(row)
    if loaded is not None:
        risk = strongest([risk, assess_risk(loaded.definition, row.answers)])
    notice = crisis_notice(ctx.catalog, risk, country, row.language)
    progress = progress_of(loaded.definition, row.answers) if loaded is not None else None
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
        answers=dict(row.answers),
        progress=progress,
        result=_stored_result(ctx, row, notice, country),
        crisis=notice,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        submitted_at=_utc(row.submitted_at) if row.submitted_at else None,
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
    stored = _stored_risk(row)
    if seen.indicated:
        peak = strongest([stored, seen])
        if peak != stored:
            stored = _record_risk(row, peak)
            ctx.session.add(row)
    return StoredRisk(stored, row.country, row.language)
