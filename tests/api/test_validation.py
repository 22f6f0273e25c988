"""Strict validation: every kind of malformed input is refused with a problem+json body that
names what is wrong, and a refused request stores nothing (row counts read from the database).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import (
    API,
    QUESTIONNAIRE,
    assert_problem,
    bearer,
    complete_answers,
    create,
    row_counts,
)
from httpx2 import Response

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

JSON_HEADERS = {"Content-Type": "application/json"}

# (case id, answers, the item the error must name). Each set also holds a valid answer, so a
# refused request visibly stores none of its answers, valid or not.
BAD_ANSWERS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown-item", {"zzz99": 3}, "zzz99"),
    ("below-scale", {"anx01": 0}, "anx01"),
    ("above-scale", {"anx01": 8}, "anx01"),
    ("negative", {"anx01": -1}, "anx01"),
    ("huge-int", {"anx01": 10**30}, "anx01"),
    ("int-beyond-float-range", {"anx01": 10**400}, "anx01"),
    ("int-beyond-float-range-wellbeing", {"wb_life": 10**400}, "wb_life"),
    ("whole-float", {"anx01": 5.0}, "anx01"),
    ("float", {"anx01": 5.5}, "anx01"),
    ("boolean", {"anx01": True}, "anx01"),
    ("numeric-string", {"anx01": "5"}, "anx01"),
    ("null", {"anx01": None}, "anx01"),
    ("list", {"anx01": [5]}, "anx01"),
    ("object", {"anx01": {"value": 5}}, "anx01"),
    ("wb_now-off-options", {"wb_now": 2}, "wb_now"),
    ("wb_life-off-options", {"wb_life": 4}, "wb_life"),
]
VALID_ALONGSIDE = {"avo01": 2, "dis01": 6}
ORIGINAL_ANSWERS = {"anx02": 3}


@pytest.fixture
def api(client: TestClient) -> Iterator[TestClient]:
    """The same app, but a server error is a 500 response to assert on, not an exception."""
    http = TestClient(client.app, raise_server_exceptions=False)
    yield http
    http.close()


@pytest.fixture
def existing(api: TestClient) -> tuple[str, str]:
    """An in-progress response holding ``ORIGINAL_ANSWERS``: (response_id, token)."""
    created = create(api, answers=ORIGINAL_ANSWERS)
    return created["response_id"], created["token"]


def stored_answers(api: TestClient, existing: tuple[str, str]) -> dict[str, int]:
    response_id, token = existing
    read = api.get(f"{API}/responses/{response_id}", headers=bearer(token))
    assert read.status_code == 200, read.text
    answers: dict[str, int] = read.json()["answers"]
    return answers


ENDPOINTS = ["create", "save", "score"]


def send_raw(api: TestClient, endpoint: str, existing: tuple[str, str], content: Any) -> Response:
    """Send ``content`` (bytes or a byte iterator) to one of the endpoints that take answers."""
    response_id, token = existing
    if endpoint == "create":
        url, method = f"{API}/responses", "POST"
    elif endpoint == "save":
        url, method = f"{API}/responses/{response_id}/answers", "PUT"
    else:
        url, method = f"{API}/questionnaires/{QUESTIONNAIRE}/score", "POST"
    return api.request(method, url, content=content, headers={**JSON_HEADERS, **bearer(token)})


def send(api: TestClient, endpoint: str, existing: tuple[str, str], body: object) -> Response:
    """Send ``body`` (any JSON value) to one of the endpoints that take answers."""
    return send_raw(api, endpoint, existing, json.dumps(body).encode())


def answers_body(endpoint: str, answers: dict[str, Any]) -> dict[str, Any]:
    if endpoint == "create":
        return {"questionnaire_id": QUESTIONNAIRE, "answers": answers}
    return {"answers": answers}


def assert_nothing_stored(
    api: TestClient,
    database_url: str,
    existing: tuple[str, str],
    before: dict[str, int],
    endpoint: str = "save",
) -> None:
    """No new rows; and after a refused save, the response still holds only its old answers."""
    assert row_counts(database_url) == before
    if endpoint == "save":
        assert stored_answers(api, existing) == ORIGINAL_ANSWERS


@pytest.mark.parametrize(
    ("answers", "item"), [pytest.param(a, i, id=case) for case, a, i in BAD_ANSWERS]
)
def test_invalid_answer_is_refused_naming_the_item_and_nothing_is_stored(
    api: TestClient,
    database_url: str,
    existing: tuple[str, str],
    answers: dict[str, Any],
    item: str,
    subtests: pytest.Subtests,
) -> None:
    before = row_counts(database_url)
    for endpoint in ENDPOINTS:
        with subtests.test(endpoint):
            body = {**VALID_ALONGSIDE, **answers}
            problem = assert_problem(
                send(api, endpoint, existing, answers_body(endpoint, body)), 422, item
            )
            # Only the bad answer is blamed: the valid ones alongside it are not errors.
            assert {e["item"] for e in problem["errors"]} == {item}
            assert_nothing_stored(api, database_url, existing, before, endpoint)


def test_every_invalid_answer_is_listed_at_once(
    api: TestClient, database_url: str, existing: tuple[str, str]
) -> None:
    before = row_counts(database_url)
    bad = {"zzz99": 1, "anx01": 0, "avo01": 5.5, "dis01": "5", "wb_now": 2}
    response = send(api, "create", existing, answers_body("create", {"anx02": 4, **bad}))
    body = assert_problem(response, 422, *bad)
    assert len(body["errors"]) == len(bad)
    assert_nothing_stored(api, database_url, existing, before, "create")


CREATE_BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("questionnaire_id-int", {"questionnaire_id": 5}, "questionnaire_id"),
    ("questionnaire_id-missing", {"questionnaire_id": None}, "questionnaire_id"),
    ("submit-string", {"submit": "true"}, "submit"),
    ("submit-int", {"submit": 1}, "submit"),
    ("consent-research-string", {"consent": {"research": "yes"}}, "consent.research"),
    ("consent-research-int", {"consent": {"research": 1}}, "consent.research"),
    ("consent-string", {"consent": "yes"}, "consent"),
    (
        "consent-unknown-field",
        {"consent": {"research": True, "marketing": True}},
        "consent.marketing",
    ),
    ("study-int", {"study": 12345}, "study"),
    ("study-spaces", {"study": "my study"}, "study"),
    ("study-too-long", {"study": "s" * 65}, "study"),
    ("lang-word", {"lang": "english"}, "lang"),
    ("lang-int", {"lang": 1}, "lang"),
    ("country-alpha3", {"country": "USA"}, "country"),
    ("country-int", {"country": 12}, "country"),
    ("unknown-field", {"email": "someone@example.org"}, "email"),
    ("answers-list", {"answers": [["anx01", 5]]}, "answers"),
    ("answers-string", {"answers": "anx01=5"}, "answers"),
    ("answers-number", {"answers": 5}, "answers"),
]


def test_create_refuses_each_malformed_field_naming_it(
    api: TestClient, database_url: str, existing: tuple[str, str], subtests: pytest.Subtests
) -> None:
    before = row_counts(database_url)
    for case, fields, item in CREATE_BAD_FIELDS:
        with subtests.test(case):
            body: dict[str, Any] = {
                "questionnaire_id": QUESTIONNAIRE,
                "answers": {"anx01": 6},
                "consent": {"research": True},
                **fields,
            }
            if body["questionnaire_id"] is None:
                del body["questionnaire_id"]
            assert_problem(send(api, "create", existing, body), 422, item)
            assert_nothing_stored(api, database_url, existing, before, "create")


SAVE_OR_SCORE_BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("answers-missing", {"answers": None}, "answers"),
    ("answers-list", {"answers": [5, 5]}, "answers"),
    ("answers-string", {"answers": "anx01=5"}, "answers"),
    ("lang-word", {"lang": "english"}, "lang"),
    ("country-alpha3", {"country": "USA"}, "country"),
    ("country-int", {"country": 12}, "country"),
    ("unknown-field-submit", {"submit": True}, "submit"),
    ("unknown-field-questionnaire", {"questionnaire_id": QUESTIONNAIRE}, "questionnaire_id"),
]


@pytest.mark.parametrize("endpoint", ["save", "score"])
def test_save_and_score_refuse_each_malformed_field_naming_it(
    api: TestClient,
    database_url: str,
    existing: tuple[str, str],
    endpoint: str,
    subtests: pytest.Subtests,
) -> None:
    before = row_counts(database_url)
    for case, fields, item in SAVE_OR_SCORE_BAD_FIELDS:
        with subtests.test(case):
            body: dict[str, Any] = {"answers": {"anx01": 6}, **fields}
            if body["answers"] is None:
                del body["answers"]
            assert_problem(send(api, endpoint, existing, body), 422, item)
            assert_nothing_stored(api, database_url, existing, before, endpoint)


MALFORMED_JSON = {
    "truncated": b'{"answers": {"anx01": 5}',
    "single-quotes": b"{'answers': {'anx01': 5}}",
    "trailing-comma": b'{"answers": {"anx01": 5,}}',
    "not-utf8": b"\xff\xfe not utf-8",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_json_is_refused_as_a_problem_about_the_body(
    api: TestClient,
    database_url: str,
    existing: tuple[str, str],
    endpoint: str,
    subtests: pytest.Subtests,
) -> None:
    before = row_counts(database_url)
    for case, raw in MALFORMED_JSON.items():
        with subtests.test(case):
            response = send_raw(api, endpoint, existing, raw)
            assert response.status_code in {400, 422}, response.text
            body = assert_problem(response, response.status_code)
            # The body as a whole is the problem: the error should say so ("body", the name
            # the handler gives the body itself), not give a character offset as the item.
            assert [e["item"] for e in body.get("errors", [])] == ["body"], body
            assert_nothing_stored(api, database_url, existing, before, endpoint)


def test_a_number_too_long_to_parse_is_refused_and_still_shows_help(
    api: TestClient, database_url: str, existing: tuple[str, str]
) -> None:
    """Valid JSON (RFC 8259 sets no limit on digits), but longer than Python's int parser takes:
    refused, and the risk answer in the same body still gets the crisis notice."""
    before = row_counts(database_url)
    answers = '{"wb_now": 1, "anx01": ' + "9" * 5000 + "}"
    raw = f'{{"questionnaire_id": "{QUESTIONNAIRE}", "answers": {answers}}}'.encode()
    response = api.post(f"{API}/responses", content=raw, headers=JSON_HEADERS)
    assert response.status_code in {400, 422}, response.text
    body = assert_problem(response, response.status_code)
    assert (body.get("crisis") or {}).get("level") == "acute", body
    assert_nothing_stored(api, database_url, existing, before, "create")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_deeply_nested_json_is_refused_as_a_problem(
    api: TestClient,
    settings: Settings,
    database_url: str,
    existing: tuple[str, str],
    endpoint: str,
) -> None:
    """About 4 KB, far under the size limit, nested deeper than Python's JSON parser recurses."""
    before = row_counts(database_url)
    depth = 2000
    nested = b"[" * depth + b"]" * depth
    prefix = b'"questionnaire_id": "%s", ' % QUESTIONNAIRE.encode() if endpoint == "create" else b""
    raw = b"{" + prefix + b'"answers": {"anx01": ' + nested + b"}}"
    assert len(raw) < settings.max_body_bytes
    response = send_raw(api, endpoint, existing, raw)
    assert response.status_code in {400, 422}, (response.status_code, response.text)
    assert_problem(response, response.status_code)
    assert_nothing_stored(api, database_url, existing, before, endpoint)


def padded_create_body(size: int) -> bytes:
    """A valid create body of exactly ``size`` bytes (JSON whitespace as padding)."""
    head = json.dumps({"questionnaire_id": QUESTIONNAIRE, "answers": {"anx01": 6}})[:-1]
    padding = size - len(head) - 1
    assert padding >= 0
    return (head + " " * padding + "}").encode()


def test_a_body_at_the_limit_is_accepted(
    api: TestClient, settings: Settings, database_url: str
) -> None:
    before = row_counts(database_url)
    body = padded_create_body(settings.max_body_bytes)
    response = api.post(f"{API}/responses", content=body, headers=JSON_HEADERS)
    assert response.status_code == 201, response.text
    assert row_counts(database_url)["response_session"] == before["response_session"] + 1


def test_a_body_over_the_limit_is_refused_with_413(
    api: TestClient,
    settings: Settings,
    database_url: str,
    existing: tuple[str, str],
    subtests: pytest.Subtests,
) -> None:
    before = row_counts(database_url)
    limit = settings.max_body_bytes
    for endpoint in ENDPOINTS:
        with subtests.test(endpoint):
            body = padded_create_body(limit + 1)
            if endpoint != "create":
                body = b'{"answers": {"anx01": 6}' + b" " * limit + b"}"
            assert_problem(send_raw(api, endpoint, existing, body), 413)
            assert_nothing_stored(api, database_url, existing, before, endpoint)


def test_a_chunked_body_over_the_limit_is_refused_with_413(
    api: TestClient, settings: Settings, database_url: str, existing: tuple[str, str]
) -> None:
    """No Content-Length to check up front: the limit must hold while the body streams in."""
    before = row_counts(database_url)

    def chunks() -> Iterator[bytes]:
        yield b'{"questionnaire_id": "%s", "answers": {"anx01": 6}, "study": "' % (
            QUESTIONNAIRE.encode()
        )
        for _ in range(settings.max_body_bytes // 1024 + 1):
            yield b"a" * 1024
        yield b'"}'

    response = send_raw(api, "create", existing, chunks())
    assert "content-length" not in response.request.headers
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(response, 413)
    assert_nothing_stored(api, database_url, existing, before, "create")


def test_the_limit_is_read_from_the_environment(
    settings: Settings, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECUREBASE_MAX_BODY_BYTES", "2048")
    small = Settings(environment="test", database_url=settings.database_url)
    app = create_app(small, catalog)
    with TestClient(app) as http:
        fits = http.post(f"{API}/responses", content=padded_create_body(2048), headers=JSON_HEADERS)
        assert fits.status_code == 201, fits.text
        over = http.post(f"{API}/responses", content=padded_create_body(2049), headers=JSON_HEADERS)
        assert_problem(over, 413)


def test_scoring_an_unknown_questionnaire_is_404(api: TestClient) -> None:
    response = api.post(f"{API}/questionnaires/no-such-thing/score", json={"answers": {}})
    assert_problem(response, 404)


def test_creating_for_an_unknown_questionnaire_is_422_naming_it(
    api: TestClient, database_url: str, existing: tuple[str, str]
) -> None:
    before = row_counts(database_url)
    response = api.post(
        f"{API}/responses", json={"questionnaire_id": "no-such-thing", "answers": {"anx01": 5}}
    )
    assert_problem(response, 422, "questionnaire_id")
    assert_nothing_stored(api, database_url, existing, before, "create")


def too_few_for_avoidance() -> dict[str, int]:
    """Anxiety and disorganization complete; avoidance 6 of 9 (7 are needed)."""
    answers = complete_answers(4)
    for item in ("avo07", "avo08", "avo09"):
        del answers[item]
    return answers


def test_create_and_submit_with_too_few_answers_names_the_dimension(
    api: TestClient, database_url: str, existing: tuple[str, str]
) -> None:
    before = row_counts(database_url)
    response = api.post(
        f"{API}/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": too_few_for_avoidance(),
            "submit": True,
        },
    )
    body = assert_problem(response, 422, "avoidance")
    assert {e["item"] for e in body["errors"]} == {"avoidance"}
    assert_nothing_stored(api, database_url, existing, before, "create")


def test_submit_with_too_few_answers_names_the_dimension_and_keeps_it_open(
    api: TestClient,
) -> None:
    created = create(api, answers=too_few_for_avoidance())
    response_id, token = created["response_id"], created["token"]
    response = api.post(f"{API}/responses/{response_id}/submit", headers=bearer(token))
    body = assert_problem(response, 422, "avoidance")
    assert {e["item"] for e in body["errors"]} == {"avoidance"}
    read = api.get(f"{API}/responses/{response_id}", headers=bearer(token)).json()
    assert read["status"] == "in_progress"
    assert read["result"] is None
    assert read["submitted_at"] is None


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("short", id="too-short"),
        pytest.param("k" * 256, id="too-long"),
        pytest.param("has spaces in the key", id="spaces"),
    ],
)
def test_an_invalid_idempotency_key_is_refused_naming_the_header(
    api: TestClient, database_url: str, existing: tuple[str, str], key: str
) -> None:
    before = row_counts(database_url)
    response = api.post(
        f"{API}/responses",
        json={"questionnaire_id": QUESTIONNAIRE, "answers": {"anx01": 5}},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code in {400, 422}, response.text
    assert_problem(response, response.status_code, "Idempotency-Key")
    assert_nothing_stored(api, database_url, existing, before, "create")

    created = create(api, answers=complete_answers(4))
    response_id, token = created["response_id"], created["token"]
    submitted = api.post(
        f"{API}/responses/{response_id}/submit",
        headers={**bearer(token), "Idempotency-Key": key},
    )
    assert submitted.status_code in {400, 422}, submitted.text
    assert_problem(submitted, submitted.status_code, "Idempotency-Key")
    read = api.get(f"{API}/responses/{response_id}", headers=bearer(token)).json()
    assert read["status"] == "in_progress"
