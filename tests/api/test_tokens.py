"""The response token: shown once, stored only as a hash, and the only way in. Without it (or
with a wrong one) every call answers exactly like an unknown id, so ids cannot be probed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import (
    API,
    all_cells,
    anxious_answers,
    bearer,
    cell_contains,
    complete_answers,
    create,
)
from study_registry import register


def test_the_token_is_returned_once_and_never_again(client: TestClient) -> None:
    created = create(client, answers={"anx01": 5})
    response_id, token = created["response_id"], created["token"]
    assert len(token) >= 32
    headers = bearer(token)
    responses = [
        client.get(f"{API}/responses/{response_id}", headers=headers),
        client.put(
            f"{API}/responses/{response_id}/answers",
            json={"answers": complete_answers(3)},
            headers=headers,
        ),
        client.post(f"{API}/responses/{response_id}/submit", headers=headers),
        client.post(f"{API}/responses/{response_id}/submit", headers=headers),
        client.get(f"{API}/responses/{response_id}", headers=headers),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert token not in response.text
        assert "token" not in response.json()


def test_tokens_differ_between_responses(client: TestClient) -> None:
    created = [create(client) for _ in range(3)]
    assert len({c["token"] for c in created}) == 3
    assert len({c["response_id"] for c in created}) == 3


def test_the_token_is_stored_only_as_a_hash(client: TestClient, database_url: str) -> None:
    enrolment = register(client.app.state.engine, "tokscan")  # type: ignore[attr-defined]
    created = create(client, answers=anxious_answers(), study=enrolment, submit=True)
    keyed = create(
        client, answers={"anx01": 2}, headers={"Idempotency-Key": "tokens-test-key-0001"}
    )
    cells = all_cells(database_url)
    assert any(cell_contains(value, created["response_id"]) for _, _, value in cells)
    for token in (created["token"], keyed["token"]):
        leaks = [(table, column) for table, column, value in cells if cell_contains(value, token)]
        assert leaks == [], f"the token is stored in the clear in {leaks}"


Probe = tuple[str, str, dict[str, Any] | None]


@pytest.fixture
def two_responses(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    return create(client, answers={"anx01": 2}), create(client, answers={"anx01": 6})


def denied_headers(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Every way of not holding this response's token."""
    return {
        "missing": {},
        "wrong-token": bearer("x" * 43),
        "other-responses-token": bearer(other["token"]),
        "basic-scheme": {"Authorization": "Basic xyz"},
        "basic-with-the-token": {"Authorization": f"Basic {mine['token']}"},
        "bearer-alone": {"Authorization": "Bearer"},
        "bearer-blank": {"Authorization": "Bearer   "},
        "token-without-scheme": {"Authorization": mine["token"]},
    }


def calls(response_id: str) -> list[Probe]:
    return [
        ("GET", f"{API}/responses/{response_id}", None),
        ("PUT", f"{API}/responses/{response_id}/answers", {"answers": {"anx01": 7}}),
        ("POST", f"{API}/responses/{response_id}/submit", None),
        ("DELETE", f"{API}/responses/{response_id}", None),
    ]


def test_without_the_right_token_every_call_is_the_same_404_as_an_unknown_id(
    client: TestClient,
    two_responses: tuple[dict[str, Any], dict[str, Any]],
    subtests: pytest.Subtests,
) -> None:
    mine, other = two_responses
    bodies: dict[bytes, list[str]] = {}
    attempts: list[tuple[str, str, str, dict[str, str], dict[str, Any] | None]] = []
    for (method, url, body), (unknown_method, unknown_url, _) in zip(
        calls(mine["response_id"]), calls("NoSuchResponse0000000A"), strict=True
    ):
        for case, headers in denied_headers(mine, other).items():
            attempts.append((f"{method} {case}", method, url, headers, body))
        attempts.append(
            (f"{method} unknown-id", unknown_method, unknown_url, bearer(mine["token"]), body)
        )
        attempts.append((f"{method} unknown-id-no-token", unknown_method, unknown_url, {}, body))
    for case, method, url, headers, body in attempts:
        with subtests.test(case):
            response = client.request(method, url, headers=headers, json=body)
            assert response.status_code == 404, response.text
            assert response.headers["content-type"] == "application/problem+json"
            bodies.setdefault(response.content, []).append(case)
    assert len(bodies) == 1, f"the 404 bodies differ: {list(bodies.values())}"

    # None of those attempts changed anything.
    read = client.get(f"{API}/responses/{mine['response_id']}", headers=bearer(mine["token"]))
    assert read.status_code == 200
    assert read.json()["answers"] == {"anx01": 2}
    assert read.json()["status"] == "in_progress"


def test_the_token_of_one_response_does_not_reach_another(
    client: TestClient, two_responses: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    mine, other = two_responses
    erase = client.delete(f"{API}/responses/{other['response_id']}", headers=bearer(mine["token"]))
    assert erase.status_code == 404
    read = client.get(f"{API}/responses/{other['response_id']}", headers=bearer(other["token"]))
    assert read.status_code == 200
    assert read.json()["answers"] == {"anx01": 6}


def test_the_bearer_scheme_is_case_insensitive(
    client: TestClient, two_responses: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    mine, _ = two_responses
    read = client.get(
        f"{API}/responses/{mine['response_id']}",
        headers={"Authorization": f"bearer {mine['token']}"},
    )
    assert read.status_code == 200, read.text
