"""The OpenAPI document generates good clients: stable readable operation ids, every schema
named, an example on every request body (each one valid for its schema), every tag described,
both bearer schemes declared and used, ``servers`` from ``SECUREBASE_PUBLIC_URL``, and the 503
with ``Retry-After`` on every operation that needs the database (that these are exactly the
operations an outage answers with 503 is checked in ``tests/api/test_database_outage.py``)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

OPERATION_IDS = {
    ("get", "/api/v1/questionnaires"): "listQuestionnaires",
    ("get", "/api/v1/questionnaires/{questionnaire_id}"): "getQuestionnaire",
    ("post", "/api/v1/questionnaires/{questionnaire_id}/score"): "scoreAnswers",
    ("post", "/api/v1/responses"): "createResponse",
    ("put", "/api/v1/responses/{response_id}/answers"): "saveAnswers",
    ("post", "/api/v1/responses/{response_id}/submit"): "submitResponse",
    ("get", "/api/v1/responses/{response_id}"): "getResponse",
    ("delete", "/api/v1/responses/{response_id}"): "deleteResponse",
    ("get", "/api/v1/crisis-resources"): "getCrisisResources",
    ("post", "/api/v1/questionnaires/{questionnaire_id}/score/batch"): "scoreBatch",
    ("get", "/api/v1/questionnaires/{questionnaire_id}/fhir"): "getQuestionnaireAsFhir",
    ("post", "/api/v1/fhir/QuestionnaireResponse"): "scoreFhirQuestionnaireResponse",
    ("get", "/api/v1/responses/{response_id}/fhir"): "getResponseAsFhir",
    ("get", "/api/v1/research/summary"): "getResearchSummary",
    ("get", "/api/v1/research/histograms"): "getResearchHistograms",
    ("get", "/api/v1/research/items"): "getResearchItems",
    ("get", "/api/v1/research/codebook"): "getResearchCodebook",
    ("get", "/healthz"): "getHealth",
    ("get", "/readyz"): "getReadiness",
}

USES_THE_DATABASE = {
    "createResponse",
    "saveAnswers",
    "submitResponse",
    "getResponse",
    "deleteResponse",
    "scoreFhirQuestionnaireResponse",  # with ?store=true
    "getResponseAsFhir",
    "getResearchSummary",
    "getResearchHistograms",
    "getResearchItems",
    "getResearchCodebook",
    "getReadiness",
}
"""Operations that read or write the database: in an outage each answers 503."""


def document(**settings: Any) -> dict[str, Any]:
    app = create_app(
        Settings(environment="test", database_url="sqlite://", **settings), Catalog.load()
    )
    built: dict[str, Any] = app.openapi()
    app.state.engine.dispose()
    return built


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, by_method in doc["paths"].items()
        for method, operation in by_method.items()
    ]


def test_every_operation_has_its_readable_id(doc: dict[str, Any]) -> None:
    found = {(method, path): op.get("operationId") for method, path, op in operations(doc)}
    assert found == OPERATION_IDS


def test_every_operation_has_a_summary_and_a_description(doc: dict[str, Any]) -> None:
    """Summaries name operations in docs and in generated clients' docstrings."""
    for method, path, op in operations(doc):
        assert op.get("summary"), (method, path)
        assert op.get("description"), (method, path)
    summaries = [op["summary"] for _, _, op in operations(doc)]
    assert len(set(summaries)) == len(summaries), "two operations share a summary"


def test_every_schema_is_named_and_every_json_body_refers_to_one(doc: dict[str, Any]) -> None:
    names = list(doc["components"]["schemas"])
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) for name in names), names
    unnamed = []
    for method, path, op in operations(doc):
        bodies = [("request", op.get("requestBody", {}).get("content", {}))]
        bodies += [(status, r.get("content", {})) for status, r in op["responses"].items()]
        for where, content in bodies:
            for media, spec in content.items():
                if not media.endswith("json"):
                    continue
                schema = spec.get("schema", {})
                target = schema.get("items", schema) if schema.get("type") == "array" else schema
                if "$ref" not in target:
                    unnamed.append(f"{method.upper()} {path} {where} {media}: {schema}")
    assert not unnamed, "\n".join(unnamed)


def test_every_request_body_has_examples_valid_for_its_schema(doc: dict[str, Any]) -> None:
    with_body = [(m, p, op) for m, p, op in operations(doc) if "requestBody" in op]
    assert {op["operationId"] for _, _, op in with_body} == {
        "scoreAnswers",
        "createResponse",
        "saveAnswers",
        "scoreBatch",
        "scoreFhirQuestionnaireResponse",
    }
    for _method, _path, op in with_body:
        body = op["requestBody"]["content"]["application/json"]
        validator = jsonschema_rs.validator_for({**body["schema"], "components": doc["components"]})
        assert body.get("examples"), op["operationId"]
        for name, example in body["examples"].items():
            assert example["summary"], (op["operationId"], name)
            errors = [e.message for e in validator.iter_errors(example["value"])]
            assert not errors, (op["operationId"], name, errors)


def test_the_risk_example_documents_the_notice_it_gets(doc: dict[str, Any]) -> None:
    save = doc["paths"]["/api/v1/responses/{response_id}/answers"]["put"]
    assert "risk" in save["requestBody"]["content"]["application/json"]["examples"]
    answer = save["responses"]["200"]["content"]["application/json"]["examples"]["risk"]["value"]
    assert answer["crisis"]["level"] == "urgent"
    assert answer["crisis"]["resources"], "the notice names who to contact"
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/AnswersSaved", "components": doc["components"]}
    )
    assert not list(validator.iter_errors(answer))


def test_every_tag_is_described(doc: dict[str, Any]) -> None:
    described = {tag["name"]: tag.get("description", "") for tag in doc["tags"]}
    used = {tag for _, _, op in operations(doc) for tag in op.get("tags", [])}
    assert used <= set(described)
    assert all(len(text) > 20 for text in described.values()), described


def test_both_bearer_schemes_are_declared_and_used_where_needed(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ResponseToken"]["scheme"] == "bearer"
    assert schemes["ResearcherKey"]["scheme"] == "bearer"
    for _method, path, op in operations(doc):
        required = {name for entry in op.get("security", []) for name in entry}
        assert required <= set(schemes), (path, required)
        if path.startswith("/api/v1/responses/"):
            assert required == {"ResponseToken"}, path
        elif path.startswith("/api/v1/research/"):
            assert required == {"ResearcherKey"}, path
        else:
            assert not required, path


def test_servers_come_from_the_public_url(doc: dict[str, Any]) -> None:
    assert "servers" not in doc
    public = document(public_url="https://reflect.example.org/")
    assert public["servers"] == [
        {"url": "https://reflect.example.org", "description": "This instance"}
    ]


def test_every_operation_that_uses_the_database_documents_its_503(doc: dict[str, Any]) -> None:
    """Retry later: the problem type (an OperationOutcome on the FHIR routes) and the
    ``Retry-After`` header, so a generated client can read how long to wait."""
    listed = {op["operationId"] for _, _, op in operations(doc) if "503" in op["responses"]}
    assert listed == USES_THE_DATABASE
    for _method, _path, op in operations(doc):
        if op["operationId"] not in USES_THE_DATABASE:
            continue
        unavailable = op["responses"]["503"]
        fhir = "fhir" in op.get("tags", [])
        media = "application/fhir+json" if fhir else "application/problem+json"
        assert list(unavailable["content"]) == [media], op["operationId"]
        wanted = "transient" if fhir else "/problems/database-unavailable"
        assert wanted in unavailable["description"], op["operationId"]
        retry_after = unavailable["headers"]["Retry-After"]
        assert retry_after["schema"]["type"] == "integer", op["operationId"]
        assert "seconds" in retry_after["description"], op["operationId"]
