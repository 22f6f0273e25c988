"""HL7 FHIR R4 and R5: questionnaires as Questionnaire, scoring a QuestionnaireResponse into
Observations, and a stored response read back as a QuestionnaireResponse.

The release is chosen by ``?fhirVersion=4.0|5.0`` or the ``fhirVersion`` parameter of
``Accept: application/fhir+json; fhirVersion=4.0``; R4 by default. Every error is an
OperationOutcome (``application/fhir+json``) whose issues name the item by FHIRPath, and
carries the crisis notice as a warning issue whenever the answers call for it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.deps import BearerToken, CatalogDep, ContextDep, LocaleDep, SettingsDep
from app.errors import InvalidInput, SecureBaseError
from app.schemas.fhir import FhirResource
from app.schemas.responses import ScoreRequest
from app.services import json_input
from app.services import questionnaires as questionnaire_service
from app.services import responses as response_service
from app.services.fhir.observations import result_bundle
from app.services.fhir.outcome import FhirProblem, Issue, IssueCode, operation_outcome
from app.services.fhir.questionnaire import (
    build_questionnaire,
    fhir_version_string,
    questionnaire_id_of,
)
from app.services.fhir.response import ROOT, read_answers, stored_response
from app.services.fhir.versions import (
    FHIR_JSON,
    FhirVersion,
    UnsupportedVersion,
    choose_version,
    media_type,
)
from app.services.locale import RequestLocale
from app.services.screening import screen_body
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER

router = APIRouter(tags=["fhir"])


class FhirJSONResponse(JSONResponse):
    media_type = FHIR_JSON


_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
FhirVersionParam = Annotated[
    str | None,
    Query(alias="fhirVersion", description="4.0 (R4, the default) or 5.0 (R5)."),
]


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": FhirResource, "description": "The FHIR resource"},
        **{
            status: {"model": FhirResource, "description": "An OperationOutcome"}
            for status in statuses
        },
        413: {
            "description": "The body is too large (refused before any route, as problem+json)",
            "content": {"application/problem+json": {"schema": {}}},
        },
    }


def _reply(resource: dict[str, Any], version: FhirVersion, status: int = 200) -> JSONResponse:
    return JSONResponse(resource, status_code=status, media_type=media_type(version))


def _outcome(problem: FhirProblem, version: FhirVersion, request: Request) -> JSONResponse:
    """The problem as an OperationOutcome, with the stronger of the notice the route found and
    the one the risk edge read from the raw body (which a body refused as unreadable still has)."""
    notice = problem.notice
    seen: CrisisNotice | None = getattr(request.state, "crisis_notice", None)
    if seen is not None and (
        notice is None or CRISIS_LEVEL_ORDER[seen.level] > CRISIS_LEVEL_ORDER[notice.level]
    ):
        notice = seen
    return _reply(operation_outcome(problem.issues, notice), version, problem.status)


def _version(request: Request, asked: str | None) -> FhirVersion:
    try:
        return choose_version(
            asked, request.headers.get("accept"), request.headers.get("content-type")
        )
    except UnsupportedVersion as exc:
        raise FhirProblem(422, [Issue("value", str(exc), "fhirVersion")]) from exc


def _base_url(request: Request, settings: Settings) -> str:
    return settings.public_url or str(request.base_url).rstrip("/")


def _country(country: str | None) -> str | None:
    if country is not None and not _COUNTRY.fullmatch(country):
        raise FhirProblem(422, [Issue("value", "must be an ISO country code", "country")])
    return country


def _from_service_error(exc: SecureBaseError, expression: str | None = None) -> FhirProblem:
    code: IssueCode = "not-found" if exc.status_code == 404 else "business-rule"
    issues = [Issue(code, exc.detail, expression)]
    issues += [Issue("value", p.message, p.item) for p in exc.problems]
    return FhirProblem(exc.status_code, issues)


@router.get(
    "/questionnaires/{questionnaire_id}/fhir",
    operation_id="getQuestionnaireAsFhir",
    response_model=None,
    response_class=FhirJSONResponse,
    responses=_documented(404, 422),
)
def questionnaire_as_fhir(
    questionnaire_id: str,
    request: Request,
    catalog: CatalogDep,
    settings: SettingsDep,
    locale: LocaleDep,
    fhir_version: FhirVersionParam = None,
    lang: Annotated[str | None, Query(description="A language the questionnaire offers")] = None,
) -> JSONResponse:
    """The questionnaire as a FHIR Questionnaire; its ``url|version`` names this definition."""
    version: FhirVersion = "4.0"
    try:
        version = _version(request, fhir_version)
        loaded = questionnaire_service.find(catalog, questionnaire_id)
        language = locale.with_explicit(None, lang).language(loaded.definition.languages)
    except FhirProblem as problem:
        return _outcome(problem, version, request)
    except SecureBaseError as exc:
        return _outcome(_from_service_error(exc), version, request)
    return _reply(
        build_questionnaire(loaded, version, language, _base_url(request, settings)), version
    )


def _notice(
    catalog: Catalog,
    answers: dict[str, object],
    questionnaire_id: str | None,
    locale: RequestLocale,
) -> CrisisNotice | None:
    return screen_body(
        catalog,
        {"answers": answers},
        path_questionnaire_id=questionnaire_id,
        country=locale.country(),
        language=next(iter(locale.header_languages), "en"),
    )


def _score_response(catalog: Catalog, body: bytes, locale: RequestLocale) -> dict[str, Any]:
    try:
        resource = json_input.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FhirProblem(422, [Issue("structure", "the body must be FHIR JSON", ROOT)]) from exc
    if not isinstance(resource, dict):
        raise FhirProblem(422, [Issue("structure", "the body must be a JSON object", ROOT)])
    canonical = resource.get("questionnaire")
    questionnaire_id, asked_version = (
        questionnaire_id_of(canonical) if isinstance(canonical, str) else (None, None)
    )
    loaded = catalog.get(questionnaire_id) if questionnaire_id else None
    read = read_answers(loaded.definition if loaded else None, resource)
    if isinstance(resource.get("language"), str):
        preferred = resource["language"].split("-")[0].lower()
        locale = dataclasses.replace(locale, header_languages=(preferred, *locale.header_languages))
    # Risk first: whatever is wrong below, the notice goes with the answer.
    notice = _notice(catalog, read.answers, loaded.definition.id if loaded else None, locale)
    if resource.get("resourceType") != ROOT:
        raise FhirProblem(
            422,
            [Issue("structure", f"resourceType must be {ROOT}", f"{ROOT}.resourceType")],
            notice,
        )
    if loaded is None:
        raise FhirProblem(
            422 if canonical is None else 404,
            [
                Issue(
                    "required" if canonical is None else "not-found",
                    "questionnaire must name a questionnaire of this service by its canonical url",
                    f"{ROOT}.questionnaire",
                )
            ],
            notice,
        )
    if asked_version is not None and asked_version != fhir_version_string(loaded):
        raise FhirProblem(
            409,
            [
                Issue(
                    "business-rule",
                    f"answers version {asked_version}; this service scores "
                    f"{fhir_version_string(loaded)}",
                    f"{ROOT}.questionnaire",
                )
            ],
            notice,
        )
    if read.issues:
        raise FhirProblem(422, read.issues, notice)
    try:
        request = ScoreRequest.model_validate({"answers": read.answers})
        result = questionnaire_service.score_stateless(catalog, loaded, request, locale)
    except InvalidInput as exc:
        issues = [Issue("value", p.message, read.expression(p.item)) for p in exc.problems]
        raise FhirProblem(422, issues, notice) from exc
    except ValidationError as exc:  # answers that are not JSON values: never a 500
        raise FhirProblem(422, [Issue("value", "answers could not be read", ROOT)], notice) from exc
    return result_bundle(result, final=resource.get("status") != "in-progress")


_QR = {
    "answers": {
        "summary": "Two answers, by the codes of the Questionnaire's answer options",
        "value": {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "https://securebase.example.org/api/v1/questionnaires/"
            "attachment-self-reflection/fhir",
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
    }
}


@router.post(
    "/fhir/QuestionnaireResponse",
    operation_id="scoreFhirQuestionnaireResponse",
    response_model=None,
    response_class=FhirJSONResponse,
    responses=_documented(404, 409, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"$ref": "#/components/schemas/FhirResource"}, "examples": _QR}
                for media in (FHIR_JSON, "application/json")
            },
        }
    },
)
async def score_questionnaire_response(
    request: Request,
    catalog: CatalogDep,
    locale: LocaleDep,
    fhir_version: FhirVersionParam = None,
    country: Annotated[str | None, Query(description="ISO country for crisis resources")] = None,
) -> JSONResponse:
    """Score a QuestionnaireResponse for a known Questionnaire (by its canonical url); nothing
    is stored. Answer: a Bundle of Observations (one per score, one for the primary tendency),
    the result as ``POST .../score`` returns it (a Binary), and the crisis notice if called for."""
    version: FhirVersion = "4.0"
    try:
        version = _version(request, fhir_version)
        locale = locale.with_explicit(_country(country), None)
        body = await request.body()
        # Scoring is CPU work: off the event loop, as for the other (plain def) routes.
        bundle = await run_in_threadpool(_score_response, catalog, body, locale)
        return _reply(bundle, version)
    except FhirProblem as problem:
        return _outcome(problem, version, request)


@router.get(
    "/responses/{response_id}/fhir",
    operation_id="getResponseAsFhir",
    response_model=None,
    response_class=FhirJSONResponse,
    responses=_documented(404, 409, 422),
)
def response_as_fhir(
    response_id: str,
    request: Request,
    ctx: ContextDep,
    locale: LocaleDep,
    settings: SettingsDep,
    token: BearerToken,
    fhir_version: FhirVersionParam = None,
) -> JSONResponse:
    """A stored response as a QuestionnaireResponse (needs its Bearer token; read-only)."""
    version: FhirVersion = "4.0"
    try:
        version = _version(request, fhir_version)
        view = response_service.read(ctx, response_id, token, locale)
        loaded = questionnaire_service.find(ctx.catalog, view.questionnaire.id)
    except FhirProblem as problem:
        return _outcome(problem, version, request)
    except SecureBaseError as exc:
        return _outcome(_from_service_error(exc), version, request)
    reply = _reply(stored_response(view, loaded, _base_url(request, settings), version), version)
    reply.headers["Cache-Control"] = "no-store"
    return reply
