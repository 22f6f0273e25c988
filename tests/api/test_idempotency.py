"""Idempotent writes: a retried create with the same Idempotency-Key returns the first answer
and stores nothing twice; submit is idempotent by nature."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from helpers import (
    API,
    QUESTIONNAIRE,
    all_cells,
    anxious_answers,
    assert_problem,
    bearer,
    cell_contains,
    row_counts,
)
from sqlalchemy import create_engine, text

KEY = "0f8fad5b-d9cb-469f-a165-70867728950e"
BODY: dict[str, Any] = {
    "questionnaire_id": QUESTIONNAIRE,
    "answers": {"anx01": 6, "avo01": 2, "wb_life": 1},
    "consent": {"research": True},
}


def post(client: TestClient, body: dict[str, Any], key: str | None = KEY) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"{API}/responses", json=body, headers=headers)


def test_a_retried_create_returns_the_same_answer_and_stores_one_response(
    client: TestClient, database_url: str
) -> None:
    first = post(client, BODY)
    second = post(client, BODY)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.json()["response_id"] == first.json()["response_id"]
    assert second.json()["token"] == first.json()["token"]
    assert row_counts(database_url) == {"response_session": 1, "idempotency_record": 1}
    # The replayed token works.
    read = client.get(
        f"{API}/responses/{first.json()['response_id']}", headers=bearer(second.json()["token"])
    )
    assert read.status_code == 200


def test_a_retried_create_and_submit_returns_the_same_result(
    client: TestClient, database_url: str
) -> None:
    body = {**BODY, "answers": {**anxious_answers(), "wb_life": 2}, "submit": True}
    first = post(client, body)
    second = post(client, body)
    assert first.status_code == second.status_code == 201
    assert first.json()["result"]["primary_tendency"] == "anxious"
    assert first.json()["crisis"]["level"] == "urgent"
    assert second.content == first.content
    assert row_counts(database_url) == {"response_session": 1, "idempotency_record": 1}


def test_the_same_key_with_a_different_body_is_refused_and_stores_nothing(
    client: TestClient, database_url: str
) -> None:
    assert post(client, BODY).status_code == 201
    before = row_counts(database_url)
    changed = post(client, {**BODY, "answers": {"anx01": 5}})
    assert_problem(changed, 422, "Idempotency-Key")
    assert "token" not in changed.json()
    assert row_counts(database_url) == before


def test_different_keys_start_different_responses(client: TestClient, database_url: str) -> None:
    first = post(client, BODY, key="first-key-000000000001")
    second = post(client, BODY, key="second-key-00000000002")
    without = post(client, BODY, key=None)
    ids = {r.json()["response_id"] for r in (first, second, without)}
    assert len(ids) == 3
    assert row_counts(database_url) == {"response_session": 3, "idempotency_record": 2}


def submitted_at(client: TestClient, response_id: str, token: str) -> str:
    read = client.get(f"{API}/responses/{response_id}", headers=bearer(token))
    assert read.status_code == 200
    value: str = read.json()["submitted_at"]
    return value


def test_submitting_twice_returns_the_same_result_and_keeps_the_submission_time(
    client: TestClient, database_url: str
) -> None:
    created = post(client, {**BODY, "answers": {**anxious_answers(), "wb_life": 1}}, key=None)
    response_id, token = created.json()["response_id"], created.json()["token"]
    url = f"{API}/responses/{response_id}/submit"
    first = client.post(url, headers=bearer(token))
    assert first.status_code == 200, first.text
    when = submitted_at(client, response_id, token)
    assert when is not None
    second = client.post(url, headers=bearer(token))
    assert second.status_code == 200
    assert second.json() == first.json()
    assert second.json()["result"]["primary_tendency"] == "anxious"
    assert submitted_at(client, response_id, token) == when
    assert row_counts(database_url)["response_session"] == 1


def test_a_retried_submit_with_an_idempotency_key_returns_the_same_body(
    client: TestClient,
) -> None:
    created = post(client, {**BODY, "answers": anxious_answers()}, key=None).json()
    headers = {**bearer(created["token"]), "Idempotency-Key": "submit-retry-key-0001"}
    url = f"{API}/responses/{created['response_id']}/submit"
    first = client.post(url, headers=headers)
    second = client.post(url, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content


def test_the_remembered_answer_does_not_hold_the_token_or_the_key_in_the_clear(
    client: TestClient, database_url: str
) -> None:
    created = post(client, BODY).json()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            sealed = connection.execute(text("SELECT sealed_body FROM idempotency_record")).all()
    finally:
        engine.dispose()
    assert len(sealed) == 1
    sealed_body = bytes(sealed[0][0])
    assert sealed_body  # something is remembered, so the scan below is meaningful
    assert created["token"].encode() not in sealed_body
    leaks = [(t, c) for t, c, value in all_cells(database_url) if cell_contains(value, KEY)]
    assert leaks == [], f"the Idempotency-Key is stored in the clear in {leaks}"
