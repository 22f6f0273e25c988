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

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
FHIR_JSON = "application/fhir+json"  # FHIR routes answer errors as OperationOutcome
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
                if _is_error(status) and FHIR_JSON not in response.get("content", {}):
                    response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
            if path.startswith("/api/v1/responses/{response_id}"):
                operation["security"] = [{TOKEN_SCHEME: []}]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = document
    return document


def install_openapi(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
