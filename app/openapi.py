"""The OpenAPI document, made to say what the service really sends.

FastAPI documents error responses as ``application/json`` and validation errors in its own
shape; this service answers every error with RFC 9457 ``application/problem+json``. The
document is rewritten once so that every 4xx/5xx names the Problem schema under that media
type, and the response-token bearer scheme is declared on the calls that need it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.schemas.problem import Problem
from scoring.catalog import Catalog

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
LANGUAGE_CHECKED = {
    ("/api/v1/questionnaires/{questionnaire_id}", "get"),
}
"""Operations whose ``lang`` query parameter must be a language a questionnaire offers."""
LANGUAGE_CHECKED_BODIES = ("ScoreRequest", "CreateResponseRequest", "SaveAnswersRequest")
"""Request bodies whose ``lang`` must be a language the questionnaire offers."""
TOKEN_SCHEME = "ResponseToken"  # noqa: S105 - the name of a scheme, not a secret


def _is_error(status: str) -> bool:
    return status[:1] in {"4", "5"}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
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
    components["securitySchemes"] = {
        TOKEN_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "The token returned once by POST /api/v1/responses.",
        }
    }
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if _is_error(status):
                    response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
            if path.startswith("/api/v1/responses/{response_id}"):
                operation["security"] = [{TOKEN_SCHEME: []}]
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
