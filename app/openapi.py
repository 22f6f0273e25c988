"""The OpenAPI document, made to say what the service really sends and to generate good
clients from.

FastAPI documents error responses as ``application/json`` and validation errors in its own
shape; this service answers every error with RFC 9457 ``application/problem+json``. The
document is rewritten once so that every 4xx/5xx names the Problem schema under that media
type. It also gets: the two bearer schemes (response tokens, researcher keys) declared on the
calls that need them, a description for every tag, examples on every request body (and the
answer to a risk answer, notice included), and ``servers`` from ``SECUREBASE_PUBLIC_URL``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.config import Settings
from app.openapi_examples import REQUEST_EXAMPLES, risk_answer_example
from app.schemas.batch import BatchRequest
from app.schemas.problem import Problem
from scoring.catalog import Catalog

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
FHIR_JSON = "application/fhir+json"  # FHIR routes answer errors as OperationOutcome
LANGUAGE_CHECKED = {
    ("/api/v1/questionnaires/{questionnaire_id}", "get"),
}
"""Operations whose ``lang`` query parameter must be a language a questionnaire offers."""
LANGUAGE_CHECKED_BODIES = ("ScoreRequest", "CreateResponseRequest", "SaveAnswersRequest")
"""Request bodies whose ``lang`` must be a language the questionnaire offers."""
TOKEN_SCHEME = "ResponseToken"  # noqa: S105 - the name of a scheme, not a secret
RESEARCHER_SCHEME = "ResearcherKey"
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    TOKEN_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "The token POST /api/v1/responses returns, once, with the response it "
        "starts. Send it as `Authorization: Bearer <token>` on every call about that response.",
    },
    RESEARCHER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "A researcher key, printed once by `securebase researchers add NAME`. "
        "Send it as `Authorization: Bearer <key>` on every research export.",
    },
}
TAGS: list[dict[str, str]] = [
    {
        "name": "questionnaires",
        "description": "The questionnaires offered, each in the languages it has, and "
        "stateless scoring that stores nothing.",
    },
    {
        "name": "responses",
        "description": "A person's response: start it, save answers as they come, submit it "
        "for the result, read it, erase it. Every answer is screened for risk first: when risk "
        "is indicated the answer carries a `crisis` notice with who to contact.",
    },
    {
        "name": "crisis",
        "description": "Who to contact in a crisis, for a country, always with the "
        "international directory and the local-emergency fallback.",
    },
    {
        "name": "research",
        "description": "Aggregated statistics of a study for holders of a researcher key; "
        "small counts withheld, or differentially private releases. Never rows about a person. "
        "An export covers responses scored with the questionnaire's current content hash and "
        "with the hashes of earlier versions its definition declares measure the same (only "
        "presentation text such as instructions changed): `meta.content_hashes` lists them.",
    },
    {"name": "operations", "description": "Liveness, readiness and metrics for operators."},
    {
        "name": "fhir",
        "description": "HL7 FHIR R4 (default) and R5: a questionnaire as a Questionnaire, a "
        "QuestionnaireResponse scored into Observations, a stored response read back. Errors are "
        "OperationOutcome, with the crisis notice as a warning issue when answers indicate risk.",
    },
]


def _is_error(status: str) -> bool:
    return status[:1] in {"4", "5"}


def _add_examples(operation: dict[str, Any], catalog: Catalog | None) -> None:
    operation_id = operation.get("operationId", "")
    examples = REQUEST_EXAMPLES.get(operation_id)
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if examples and body is not None:
        body["examples"] = examples
    answer = risk_answer_example(catalog) if operation_id == "saveAnswers" and catalog else None
    if answer is not None:
        ok = operation["responses"]["200"]["content"]["application/json"]
        ok["examples"] = {"risk": {"summary": "The answer to the risk example", "value": answer}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    settings: Settings | None = getattr(app.state, "settings", None)
    catalog: Catalog | None = getattr(app.state, "catalog", None)
    public_url = settings.public_url if settings else None
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
        servers=[{"url": public_url, "description": "This instance"}] if public_url else None,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.setdefault(
        "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for name, definition in (
        Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        .get("$defs", {})
        .items()
    ):
        schemas.setdefault(name, definition)
    schemas["Problem"].pop("$defs", None)
    # A body its route reads itself (batch scoring streams it): FastAPI sees no model to name.
    batch = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    batch.pop("$defs", None)  # ScoreRequest, a component already (the body of .../score)
    schemas.setdefault("BatchRequest", batch)
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if _is_error(status) and FHIR_JSON not in response.get("content", {}):
                    response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
            if path.startswith("/api/v1/responses/{response_id}"):
                operation["security"] = [{TOKEN_SCHEME: []}]
            _add_examples(operation, catalog)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _offered_languages(app, document)
    _links_from_created_responses(document)
    _idempotency_key_rule(document)
    app.openapi_schema = document
    return document


def _restrict_to(schema: dict[str, Any], languages: list[str]) -> None:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch["enum"] = languages
            branch.pop("pattern", None)


def _offered_languages(app: FastAPI, document: dict[str, Any]) -> None:
    """``lang`` is one of the languages the questionnaires offer (each questionnaire lists
    its own under ``languages``); the server refuses any other with 422."""
    catalog: Catalog | None = getattr(app.state, "catalog", None)
    if catalog is None:
        return
    languages = sorted(
        {
            language
            for loaded in catalog.definitions.values()
            for language in loaded.definition.languages
        }
    )
    for path, method in LANGUAGE_CHECKED:
        operation = document.get("paths", {}).get(path, {}).get(method, {})
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == "lang":
                _restrict_to(parameter["schema"], languages)
    schemas = document.get("components", {}).get("schemas", {})
    for name in LANGUAGE_CHECKED_BODIES:
        lang = schemas.get(name, {}).get("properties", {}).get("lang")
        if lang is not None:
            _restrict_to(lang, languages)


def _links_from_created_responses(document: dict[str, Any]) -> None:
    """OpenAPI links: the ``response_id`` a create answers with is what every
    ``/responses/{response_id}`` operation takes (with the token as the bearer credential)."""
    paths = document.get("paths", {})
    created = paths.get("/api/v1/responses", {}).get("post", {}).get("responses", {}).get("201")
    if created is None:
        return
    links = {}
    for path, operations in paths.items():
        if not path.startswith("/api/v1/responses/{response_id}"):
            continue
        for method, operation in operations.items():
            operation_id = operation.get("operationId")
            if operation_id:
                links[f"{method}_{operation_id}"] = {
                    "operationId": operation_id,
                    "parameters": {"response_id": "$response.body#/response_id"},
                    "description": "Send the token from the same body as a bearer token.",
                }
    created["links"] = links


def _idempotency_key_rule(document: dict[str, Any]) -> None:
    """The ``Idempotency-Key`` header as the server checks it: 16 to 255 visible ASCII
    characters (anything else is refused with 422)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if (
                    parameter.get("in") == "header"
                    and parameter.get("name", "").lower() == "idempotency-key"
                ):
                    # A header is absent or a string, never null.
                    parameter["schema"] = {
                        "type": "string",
                        "minLength": 16,
                        "maxLength": 255,
                        "pattern": "^[!-~]+$",
                        "title": "Idempotency-Key",
                    }


def install_openapi(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
