"""Storing a posted QuestionnaireResponse, when the client asks for it.

The response is made exactly as ``POST /responses`` with ``"submit": true`` makes it: the same
service function, so the same answer checks, the same refusal of too few answers, the same
``Idempotency-Key`` replay and the same study enrolment. The answer is the scoring Bundle of
the stored result, plus the stored response as ``GET /responses/{id}/fhir`` returns it, plus a
receipt (a ``Parameters`` resource) with the response's id, its one-time token and its address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.errors import SecureBaseError
from app.schemas.responses import CreateResponseRequest
from app.services import responses as response_service
from app.services.fhir.intake import PostedResponse
from app.services.fhir.observations import bundle_entry, result_bundle
from app.services.fhir.outcome import FhirProblem, Issue, problem_from
from app.services.fhir.response import ROOT, response_url, stored_response
from app.services.fhir.versions import FhirVersion
from app.services.responses import ResponseContext

NOT_STORED = (
    "the response could not be stored and nothing was stored; try again later (with the same "
    "Idempotency-Key, a retry cannot store it twice)"
)
ONLY_COMPLETED = "only a completed response can be stored (status completed or amended)"


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """What the client asks for beyond the resource, as ``POST /responses`` takes it."""

    study: str | None = None
    research_consent: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class StoredReply:
    response_id: str
    location: str
    bundle: dict[str, Any]


def _expression(posted: PostedResponse, field: str) -> str:
    """Where in the resource (or the request) a field the response services name lives."""
    definition = posted.loaded.definition
    if field in posted.read.where:
        return posted.read.where[field]
    if field in {dimension.id for dimension in definition.dimensions}:
        return f"{ROOT}.item"  # too few answers for a dimension: no one item is at fault
    if field == "lang":
        return f"{ROOT}.language"
    if field == "answers":
        return ROOT
    return field  # a request parameter: study, researchConsent, Idempotency-Key


def _receipt(response_id: str, token: str, location: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "response_id", "valueString": response_id},
            {"name": "token", "valueString": token},
            {"name": "location", "valueUri": location},
        ],
    }


def _request(posted: PostedResponse, options: StoreOptions) -> CreateResponseRequest:
    try:
        return CreateResponseRequest.model_validate(
            {
                "questionnaire_id": posted.loaded.definition.id,
                "answers": posted.read.answers,
                "submit": True,
                "consent": {"research": options.research_consent},
                "study": options.study,
            }
        )
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        issues = [Issue("value", "not an enrolment code", "study")] if "study" in fields else []
        issues = issues or [Issue("value", "answers could not be read", ROOT)]
        raise FhirProblem(422, issues, posted.notice) from exc


def store_posted(
    ctx: ResponseContext,
    posted: PostedResponse,
    options: StoreOptions,
    base_url: str,
    version: FhirVersion,
) -> StoredReply:
    """Store the response as submitted; nothing is written when anything is refused."""
    if not posted.final:
        raise FhirProblem(422, [Issue("value", ONLY_COMPLETED, f"{ROOT}.status")], posted.notice)
    request = _request(posted, options)
    try:
        created = response_service.start(ctx, request, posted.locale, options.idempotency_key)
        view = response_service.read(ctx, created.response_id, created.token, posted.locale)
    except SecureBaseError as exc:
        raise problem_from(exc, lambda field: _expression(posted, field), posted.notice) from exc
    except SQLAlchemyError as exc:
        # The database is unreachable or failed: a FHIR answer all the same, notice included.
        raise FhirProblem(503, [Issue("transient", NOT_STORED)], posted.notice) from exc
    assert created.result is not None, "a response started with submit has its result"
    location = response_url(base_url, created.response_id)
    bundle = result_bundle(created.result, final=True)
    bundle["entry"] += [
        bundle_entry(stored_response(view, posted.loaded, base_url, version)),
        bundle_entry(_receipt(created.response_id, created.token, location)),
    ]
    return StoredReply(created.response_id, location, bundle)
