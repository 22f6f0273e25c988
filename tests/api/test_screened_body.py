"""A route of ``ScreenedBodyRoute`` validates the document the risk edge parsed, and only
when it is the body the route is reading."""

from __future__ import annotations

import asyncio
import json

from fastapi.testclient import TestClient
from helpers import API
from starlette.types import Message

from app.api.screened_body import SCREENED_JSON, ScreenedJson, ScreenedRequest

RAW = b'{"questionnaire_id": "attachment-self-reflection", "answers": {"anx01": 3}}'


def _request(body: bytes, screened: ScreenedJson) -> ScreenedRequest:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "headers": [], "state": {SCREENED_JSON: screened}}
    return ScreenedRequest(scope, receive)


def test_the_screened_document_is_used_for_the_body_it_came_from() -> None:
    document = json.loads(RAW)
    request = _request(RAW, ScreenedJson(RAW, document))
    assert asyncio.run(request.json()) is document


def test_another_body_is_parsed_as_it_is() -> None:
    other = b'{"questionnaire_id": "other", "answers": {}}'
    request = _request(other, ScreenedJson(RAW, json.loads(RAW)))
    assert asyncio.run(request.json()) == {"questionnaire_id": "other", "answers": {}}


def test_a_response_created_from_a_screened_body_holds_what_was_sent(client: TestClient) -> None:
    created = client.post(
        f"{API}/responses", content=RAW, headers={"content-type": "application/json"}
    )
    assert created.status_code == 201, created.text
    token, response_id = created.json()["token"], created.json()["response_id"]
    stored = client.get(
        f"{API}/responses/{response_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert stored["answers"] == {"anx01": 3}
