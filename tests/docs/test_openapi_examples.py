"""The request examples in the OpenAPI document are accepted by the API, and the documented
answer to the risk example is the answer the server gives (notice included), on every
backend."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

OK = {"scoreAnswers": 200, "createResponse": 201, "saveAnswers": 200}


def request_examples(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for by_method in doc["paths"].values():
        for operation in by_method.values():
            if operation["operationId"] == operation_id:
                examples: dict[str, Any] = operation["requestBody"]["content"]["application/json"][
                    "examples"
                ]
                return examples
    raise AssertionError(operation_id)


def start(client: TestClient) -> tuple[str, dict[str, str]]:
    created = client.post(
        "/api/v1/responses", json={"questionnaire_id": "attachment-self-reflection"}
    )
    assert created.status_code == 201
    body = created.json()
    return body["response_id"], {"Authorization": f"Bearer {body['token']}"}


@pytest.mark.parametrize("operation_id", list(OK))
def test_every_request_example_is_accepted(client: TestClient, operation_id: str) -> None:
    doc = client.get("/openapi.json").json()
    for name, example in request_examples(doc, operation_id).items():
        if operation_id == "scoreAnswers":
            sent = client.post(
                "/api/v1/questionnaires/attachment-self-reflection/score", json=example["value"]
            )
        elif operation_id == "createResponse":
            sent = client.post("/api/v1/responses", json=example["value"])
        else:
            response_id, auth = start(client)
            sent = client.put(
                f"/api/v1/responses/{response_id}/answers", json=example["value"], headers=auth
            )
        assert sent.status_code == OK[operation_id], (name, sent.text)


def test_the_documented_risk_answer_is_the_one_given(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    save = doc["paths"]["/api/v1/responses/{response_id}/answers"]["put"]
    documented = save["responses"]["200"]["content"]["application/json"]["examples"]["risk"]
    response_id, auth = start(client)
    given = client.put(
        f"/api/v1/responses/{response_id}/answers",
        json=request_examples(doc, "saveAnswers")["risk"]["value"],
        headers=auth,
    )
    assert given.status_code == 200
    assert given.json() == documented["value"]
    assert given.json()["crisis"]["level"] == "urgent"
