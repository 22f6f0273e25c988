"""HL7 FHIR R4 and R5: questionnaires as Questionnaire, scoring a QuestionnaireResponse into
Observations (and storing it when asked), and a stored response read back as a
QuestionnaireResponse.

The release is chosen by ``?fhirVersion=4.0|5.0`` or the ``fhirVersion`` parameter of
``Accept: application/fhir+json; fhirVersion=4.0``; R4 by default. Every error is an
OperationOutcome (``application/fhir+json``) whose issues name the item by FHIRPath, and
carries the crisis notice as a warning issue whenever the answers call for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.api.bodies import documented_body
from app.deps import (
    BearerToken,
    CatalogDep,
    ContextDep,
    LocaleDep,
    ReadContextDep,
    SettingsDep,
    get_idempotency_key,
)
from app.errors import DATABASE_OUTAGES, RETRY_AFTER_SECONDS, SecureBaseError
from app.schemas.fhir import FhirResource
from app.schemas.problem import RETRY_AFTER
from app.services import questionnaires as questionnaire_service
from app.services import responses as response_service
from app.services.fhir.outcome import FhirProblem, Issue, operation_outcome, problem_from
from app.services.fhir.questionnaire import build_questionnaire
from app.services.fhir.response import stored_response
from app.services.fhir.versions import (
    DEFAULT_VERSION,
    FHIR_JSON,
    FhirVersion,
    UnsupportedVersion,
    choose_version,
    media_type,
)
from app.services.locale import RequestLocale
from app.services.notices import counted_in
from app.services.responses import ResponseContext
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER

if TYPE_CHECKING:
    from app.services.fhir.storing import StoredReply, StoreOptions

# Reading, scoring and storing a posted QuestionnaireResponse are imported by the first
# POST /fhir/QuestionnaireResponse, not at start-up: the routes above need none of it.

router = APIRouter(tags=["fhir"])
NO_STORE = "no-store"
UNAVAILABLE = "the database is unavailable for the moment; try again later"


class FhirJSONResponse(JSONResponse):
    media_type = FHIR_JSON


_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_FLAGS = {"true": True, "false": False}


_UNAVAILABLE_OUTCOME: dict[str, Any] = {
    "model": FhirResource,
    "description": "The database is unavailable for the moment: an OperationOutcome whose "
    "issue has code `transient` (with the crisis notice as a warning issue when the answers "
    "call for one); nothing was stored. Send the same request again after `Retry-After` "
    "seconds.",
    "headers": RETRY_AFTER,
}


def _documented(*statuses: int, created: bool = False) -> dict[int | str, dict[str, Any]]:
    answers: dict[int | str, dict[str, Any]] = {
        200: {"model": FhirResource, "description": "The FHIR resource"}
    }
    if created:
        answers[201] = {
            "model": FhirResource,
            "description": "Stored (with ?store=true): the Bundle, with the stored "
            "QuestionnaireResponse and a Parameters receipt holding response_id, the one-time "
            "token and the location; the Location header names the stored response",
            "headers": {
                "Location": {
                    "description": "The stored response: GET it with the token as "
                    "Authorization: Bearer",
                    "schema": {"type": "string", "format": "uri"},
                }
            },
        }
    return {
        **answers,
        **{
            status: {"model": FhirResource, "description": "An OperationOutcome"}
            for status in statuses
        },
        **({503: _UNAVAILABLE_OUTCOME} if 503 in statuses else {}),
        413: {
            "description": "The body is too large (refused before any route, as problem+json)",
            "content": {"application/problem+json": {"schema": {}}},
        },
    }


@dataclass(frozen=True, slots=True)
class FhirExchange:
    """One FHIR request: the release it asked for (R4 while the ask cannot be met, so that the
    refusal is readable), where this service is, and how every answer is sent."""

    request: Request
    version: FhirVersion
    base_url: str
    refusal: FhirProblem | None = None

    def check(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    def notice(self, *found: CrisisNotice | None) -> CrisisNotice | None:
        """The strongest of the notices ``found`` and the one the risk edge worked out for this
        request (from its body, and from the stored level of the response it is about)."""
        seen: CrisisNotice | None = getattr(self.request.state, "crisis_notice", None)
        notices = [n for n in (*found, seen) if n is not None]
        return max(notices, key=lambda n: CRISIS_LEVEL_ORDER[n.level], default=None)

    def reply(self, resource: dict[str, Any], status: int = 200) -> JSONResponse:
        return JSONResponse(resource, status_code=status, media_type=media_type(self.version))

    def refuse(
        self, error: FhirProblem | SecureBaseError, screened: CrisisNotice | None = None
    ) -> JSONResponse:
        """The error as an OperationOutcome, with the strongest of the notice the route found,
        the one ``screened`` from the resource, and the one the risk edge read from the raw
        body (which an unreadable body still has)."""
        problem = error if isinstance(error, FhirProblem) else problem_from(error)
        notice = self.notice(problem.notice, screened)
        counted_in(self.request.scope.get("state", {}), notice)
        reply = self.reply(operation_outcome(problem.issues, notice), problem.status)
        if problem.status == 503:
            reply.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return reply


def fhir_exchange(
    request: Request,
    settings: SettingsDep,
    fhir_version: Annotated[
        str | None,
        Query(alias="fhirVersion", description="4.0 (R4, the default) or 5.0 (R5)."),
    ] = None,
) -> FhirExchange:
    base_url = settings.public_url or str(request.base_url).rstrip("/")
    try:
        version = choose_version(
            fhir_version, request.headers.get("accept"), request.headers.get("content-type")
        )
    except UnsupportedVersion as exc:
        refusal = FhirProblem(422, [Issue("value", str(exc), "fhirVersion")])
        return FhirExchange(request, DEFAULT_VERSION, base_url, refusal)
    return FhirExchange(request, version, base_url)


FhirDep = Annotated[FhirExchange, Depends(fhir_exchange)]


def _check_country(country: str | None) -> None:
    if country is not None and not _COUNTRY.fullmatch(country):
        raise FhirProblem(422, [Issue("value", "must be an ISO country code", "country")])


def _flag(value: str | None, name: str) -> bool:
    # Read here rather than by FastAPI, so that a bad value is refused as an OperationOutcome.
    flag = _FLAGS.get((value or "false").lower())
    if flag is None:
        raise FhirProblem(422, [Issue("value", "must be true or false", name)])
    return flag


@router.get(
    "/questionnaires/{questionnaire_id}/fhir",
    operation_id="getQuestionnaireAsFhir",
    response_model=None,
    response_class=FhirJSONResponse,
    responses=_documented(404, 422),
)
def questionnaire_as_fhir(
    questionnaire_id: str,
    fhir: FhirDep,
    catalog: CatalogDep,
    locale: LocaleDep,
    lang: Annotated[str | None, Query(description="A language the questionnaire offers")] = None,
) -> JSONResponse:
    """The questionnaire as a FHIR Questionnaire; its ``url|version`` names this definition."""
    try:
        fhir.check()
        loaded = questionnaire_service.find(catalog, questionnaire_id)
        language = locale.with_explicit(None, lang).language(loaded.definition.languages)
    except (FhirProblem, SecureBaseError) as error:
        return fhir.refuse(error)
    return fhir.reply(build_questionnaire(loaded, fhir.version, language, fhir.base_url))


def _score(catalog: Catalog, body: bytes, locale: RequestLocale) -> dict[str, Any]:
    from app.services.fhir.intake import posted_response
    from app.services.fhir.results import score_posted

    return score_posted(catalog, posted_response(catalog, body, locale))


def _store(
    ctx: ResponseContext,
    body: bytes,
    locale: RequestLocale,
    options: StoreOptions,
    fhir: FhirExchange,
) -> StoredReply:
    from app.services.fhir.intake import posted_response
    from app.services.fhir.storing import store_posted

    # Nothing is kept from a refused request: the reply is an OperationOutcome, not an
    # exception, so the request's own rollback on error would not run.
    with ctx.all_or_nothing():
        posted = posted_response(ctx.catalog, body, locale)
        return store_posted(ctx, posted, options, fhir.base_url, fhir.version)


_CANONICAL = "https://securebase.example.org/api/v1/questionnaires/attachment-self-reflection/fhir"
_QR = {
    "answers": {
        "summary": "Two answers, by the codes of the Questionnaire's answer options",
        "value": {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": _CANONICAL,
            "status": "in-progress",
            "item": [
                {
                    "linkId": "attachment",
                    "item": [
                        {"linkId": "anx01", "answer": [{"valueCoding": {"code": "5"}}]},
                        {"linkId": "avo01", "answer": [{"valueCoding": {"code": "2"}}]},
                    ],
                }
            ],
        },
    },
    "stored": {
        "summary": "A completed response: with ?store=true it is stored (201)",
        "description": "Every statement answered (codes of the answer options, with their "
        "system); only a completed or amended response can be stored, and each dimension "
        "needs enough answers, as for POST /responses with submit.",
        "value": {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": _CANONICAL,
            "status": "completed",
            "language": "en",
            "item": [
                {
                    "linkId": "attachment",
                    "item": [
                        {
                            "linkId": f"{prefix}{n:02d}",
                            "answer": [
                                {
                                    "valueCoding": {
                                        "system": "urn:securebase:attachment-self-reflection"
                                        ":scale:agreement",
                                        "code": str((n + shift) % 7 + 1),
                                    }
                                }
                            ],
                        }
                        for shift, prefix in enumerate(("anx", "avo", "dis"))
                        for n in range(1, 10)
                    ],
                }
            ],
        },
    },
}


@router.post(
    "/fhir/QuestionnaireResponse",
    operation_id="scoreFhirQuestionnaireResponse",
    response_model=None,
    response_class=FhirJSONResponse,
    responses=_documented(404, 409, 422, 503, created=True),
    openapi_extra=documented_body("FhirResource", _QR, FHIR_JSON, "application/json"),
)
async def score_questionnaire_response(
    fhir: FhirDep,
    catalog: CatalogDep,
    ctx: ContextDep,
    locale: LocaleDep,
    country: Annotated[str | None, Query(description="ISO country for crisis resources")] = None,
    store: Annotated[
        str | None,
        Query(
            description="true: also store the response, as POST /responses with "
            '"submit": true does (201, Location, a one-time token). Default false: nothing '
            "is stored.",
            openapi_examples={"store": {"summary": "Store it", "value": "true"}},
        ),
    ] = None,
    study: Annotated[
        str | None,
        Query(
            description="With store=true: a registered study's enrolment code, as study in "
            "POST /responses."
        ),
    ] = None,
    research_consent: Annotated[
        str | None,
        Query(
            alias="researchConsent",
            description="With store=true: true is the person's explicit opt-in to anonymous, "
            "aggregated research use (consent.research of POST /responses). Default false.",
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="With store=true: a retry with the same key returns the first answer "
            "(same response, same token) and stores nothing twice."
        ),
    ] = None,
) -> JSONResponse:
    """Score a QuestionnaireResponse for a known Questionnaire (by its canonical url). Answer: a
    Bundle of Observations (one per score, one for the primary tendency), the result as
    ``POST .../score`` returns it (a Binary), and the crisis notice if called for.

    Nothing is stored unless ``?store=true``: then a ``completed`` (or ``amended``) response
    is stored as submitted, exactly as ``POST /responses`` with ``"submit": true`` stores it
    (too few answers is refused; ``Idempotency-Key``, ``study`` and ``researchConsent`` as
    there), and the answer is 201 with ``Location: /api/v1/responses/{id}/fhir`` and the Bundle
    gains the stored QuestionnaireResponse and a Parameters receipt: ``response_id``, the
    one-time ``token`` (send it as ``Authorization: Bearer``; it is shown only here) and
    ``location``. A refused request stores nothing."""
    body = await fhir.request.body()
    # The country as asked when well formed: the notice of a refusal names its resources too.
    asked = locale.with_explicit(country if country and _COUNTRY.fullmatch(country) else None, None)
    try:
        fhir.check()
        _check_country(country)
        # Scoring is CPU work: off the event loop, as for the other (plain def) routes.
        if not _flag(store, "store"):
            return fhir.reply(await run_in_threadpool(_score, catalog, body, asked))
        from app.services.fhir.storing import StoreOptions

        options = StoreOptions(
            study,
            _flag(research_consent, "researchConsent"),
            await get_idempotency_key(idempotency_key),
        )
        stored = await run_in_threadpool(_store, ctx, body, asked, options, fhir)
    except (FhirProblem, SecureBaseError) as error:
        notice = None
        if isinstance(error, SecureBaseError) or error.notice is None:
            from app.services.fhir.intake import posted_notice

            notice = await run_in_threadpool(posted_notice, catalog, body, asked)
        return fhir.refuse(error, notice)
    reply = fhir.reply(stored.bundle, 201)
    reply.headers["Location"] = stored.location
    reply.headers["Cache-Control"] = NO_STORE
    return reply


@router.get(
    "/responses/{response_id}/fhir",
    operation_id="getResponseAsFhir",
    response_model=None,
    response_class=FhirJSONResponse,
    responses=_documented(404, 409, 422, 503),
)
def response_as_fhir(
    response_id: str,
    fhir: FhirDep,
    ctx: ReadContextDep,
    locale: LocaleDep,
    token: BearerToken,
    country: Annotated[
        str | None,
        Query(
            description="ISO country for the crisis notice's resources (default: the "
            "response's own country, then Accept-Language, then the configured default)."
        ),
    ] = None,
) -> JSONResponse:
    """A stored response as a QuestionnaireResponse (needs its Bearer token; read-only).

    When its answers indicate risk, the resource carries the crisis notice, as
    ``GET /responses/{id}`` carries ``crisis``: the same OperationOutcome warning issue every
    FHIR answer here uses (severity ``warning``, code ``informational``; the extension
    ``urn:securebase:fhir:crisis-notice`` holds the whole notice as JSON) as a ``contained``
    OperationOutcome with id ``crisis-notice``, referenced from the resource's extension
    ``urn:securebase:fhir:crisis-notice-outcome`` (``valueReference`` ``#crisis-notice``);
    and its narrative (``text``, status ``generated``) for any viewer: the message, every
    service with its contacts, then the answers. A response without risk has none of the
    three."""
    try:
        fhir.check()
        _check_country(country)
        asked = locale.with_explicit(country, None)
        view = response_service.read(ctx, response_id, token, asked)
        loaded = questionnaire_service.find(ctx.catalog, view.questionnaire.id)
    except (FhirProblem, SecureBaseError) as error:
        return fhir.refuse(error)
    except DATABASE_OUTAGES:
        return fhir.refuse(FhirProblem(503, [Issue("transient", UNAVAILABLE)]))
    resource = stored_response(view, loaded, fhir.base_url, fhir.version, fhir.notice(view.crisis))
    reply = fhir.reply(resource)
    reply.headers["Cache-Control"] = NO_STORE
    return reply
