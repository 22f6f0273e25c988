"""A response from first answer to result, and what every response carries: no-store caching
where answers are shown, security headers everywhere, the right country's crisis resources."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import (
    API,
    QUESTIONNAIRE,
    anxious_answers,
    assert_problem,
    bearer,
    complete_answers,
    create,
    row_counts,
)
from sqlalchemy import create_engine, text
from study_registry import register

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

SECURITY_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def read(client: TestClient, created: dict[str, Any], **params: str) -> dict[str, Any]:
    response = client.get(
        f"{API}/responses/{created['response_id']}",
        headers=bearer(created["token"]),
        params=params,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_row(database_url: str, response_id: str) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT status, study, country, research_consent, language"
                    " FROM response_session WHERE id = :id"
                ),
                {"id": response_id},
            ).one()
    finally:
        engine.dispose()
    return dict(row._mapping)


def test_a_response_from_first_answers_to_its_result(client: TestClient) -> None:
    created = create(client, answers={"anx01": 7, "wb_overwhelmed": 0})
    assert created["status"] == "in_progress"
    assert created["progress"] == {
        "answered": 1,
        "of": 27,
        "wellbeing_answered": 1,
        "ready_to_submit": False,
    }
    assert created.get("result") is None
    assert created["crisis"] is None
    url = f"{API}/responses/{created['response_id']}"
    headers = bearer(created["token"])

    # Saving merges: new items are added, a changed answer replaces the old one.
    saved = client.put(
        f"{url}/answers", json={"answers": {"anx01": 6, "anx02": 7}}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["status"] == "in_progress"
    assert saved.json()["progress"]["answered"] == 2
    assert saved.json()["progress"]["wellbeing_answered"] == 1
    assert read(client, created)["answers"] == {"anx01": 6, "anx02": 7, "wb_overwhelmed": 0}

    rest = {k: v for k, v in anxious_answers().items() if k not in {"anx01", "anx02"}}
    saved = client.put(f"{url}/answers", json={"answers": rest}, headers=headers)
    assert saved.json()["progress"] == {
        "answered": 27,
        "of": 27,
        "wellbeing_answered": 1,
        "ready_to_submit": True,
    }
    before_submit = read(client, created)
    assert before_submit["status"] == "in_progress"
    assert before_submit["result"] is None
    assert before_submit["submitted_at"] is None

    submitted = client.post(f"{url}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    result = submitted.json()["result"]
    assert submitted.json()["status"] == "submitted"
    assert result["primary_tendency"] == "anxious"
    assert result["scores"]["anxiety"]["band"] == "elevated"
    assert result["scores"]["avoidance"]["band"] == "low"
    assert result["questionnaire"]["id"] == QUESTIONNAIRE
    assert result["disclaimer"]

    late = client.put(f"{url}/answers", json={"answers": {"anx01": 1}}, headers=headers)
    assert_problem(late, 409)

    shown = read(client, created)
    assert shown["status"] == "submitted"
    assert shown["answers"] == {**anxious_answers(), "anx01": 6, "wb_overwhelmed": 0}
    assert shown["result"] == result
    assert shown["submitted_at"] is not None
    assert shown["questionnaire"] == result["questionnaire"]


def test_create_with_submit_and_complete_answers_finishes_at_once(
    client: TestClient, database_url: str
) -> None:
    created = create(client, answers=anxious_answers(), submit=True)
    assert created["status"] == "submitted"
    assert created["result"]["primary_tendency"] == "anxious"
    assert {"anxiety", "avoidance", "disorganization"} <= set(created["result"]["scores"])
    shown = read(client, created)
    assert shown["status"] == "submitted"
    assert shown["result"] == created["result"]
    assert stored_row(database_url, created["response_id"])["status"] == "submitted"


def test_low_scores_on_every_dimension_are_a_secure_result(client: TestClient) -> None:
    low = complete_answers(2)
    # Reverse-keyed items count as 8 - answer, so they are answered high to score low.
    low.update(anx03=6, anx07=6, avo02=6, avo05=6, avo08=6, dis04=6, dis08=6)
    secure = create(client, answers=low, submit=True)
    assert secure["result"]["primary_tendency"] == "secure"
    assert all(score["band"] == "low" for score in secure["result"]["scores"].values())


def test_consent_is_no_unless_given(client: TestClient, database_url: str) -> None:
    default = create(client)
    assert read(client, default)["consent"] == {"research": False}
    assert not stored_row(database_url, default["response_id"])["research_consent"]
    declined = create(client, consent={"research": False})
    assert read(client, declined)["consent"] == {"research": False}
    given = create(client, consent={"research": True})
    assert read(client, given)["consent"] == {"research": True}
    assert stored_row(database_url, given["response_id"])["research_consent"]


def test_study_and_country_are_stored(client: TestClient, database_url: str) -> None:
    enrolment = register(client.app.state.engine, "STUDY-2026_a")  # type: ignore[attr-defined]
    created = create(client, study=enrolment, country="ie")
    shown = read(client, created)
    assert shown["study"] == "STUDY-2026_a"
    assert shown["country"] == "IE"
    assert shown["language"] == "en"
    row = stored_row(database_url, created["response_id"])
    assert (row["study"], row["country"]) == ("STUDY-2026_a", "IE")
    plain = read(client, create(client))
    assert plain["study"] is None
    assert plain["country"] is None


def test_answers_are_never_cached(client: TestClient) -> None:
    response = client.post(
        f"{API}/responses", json={"questionnaire_id": QUESTIONNAIRE, "answers": {"anx01": 3}}
    )
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    shown = client.get(
        f"{API}/responses/{response.json()['response_id']}",
        headers=bearer(response.json()["token"]),
    )
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"


def test_every_response_carries_the_security_headers(
    client: TestClient, subtests: pytest.Subtests
) -> None:
    created = create(client, answers={"anx01": 3})
    item = f"{API}/responses/{created['response_id']}"
    etag = client.get(f"{API}/questionnaires/{QUESTIONNAIRE}").headers["etag"]
    requests: list[tuple[str, str, str, dict[str, Any]]] = [
        ("healthz", "GET", "/healthz", {}),
        ("readyz", "GET", "/readyz", {}),
        ("list", "GET", f"{API}/questionnaires", {}),
        (
            "not-modified",
            "GET",
            f"{API}/questionnaires/{QUESTIONNAIRE}",
            {"headers": {"If-None-Match": etag}},
        ),
        ("score", "POST", f"{API}/questionnaires/{QUESTIONNAIRE}/score", {"json": {"answers": {}}}),
        (
            "invalid",
            "POST",
            f"{API}/questionnaires/{QUESTIONNAIRE}/score",
            {"json": {"answers": 1}},
        ),
        ("crisis", "GET", f"{API}/crisis-resources", {"params": {"country": "US"}}),
        ("read", "GET", item, {"headers": bearer(created["token"])}),
        ("not-found", "GET", item, {}),
        ("no-route", "GET", f"{API}/nothing-here", {}),
        ("method", "PATCH", f"{API}/questionnaires", {}),
        ("too-large", "POST", f"{API}/responses", {"content": b"{" + b" " * 70_000 + b"}"}),
        ("erase", "DELETE", item, {"headers": bearer(created["token"])}),
    ]
    for case, method, url, options in requests:
        with subtests.test(case):
            response = client.request(method, url, **options)
            assert response.status_code < 500, response.text
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (case, dict(response.headers))


def test_an_unexpected_error_is_a_problem_with_security_headers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever fails inside, the answer is still problem+json with the usual headers and
    says nothing about the failure."""
    from app.api import questionnaires as questionnaires_api

    def fail(*_args: object) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(questionnaires_api.service, "summaries", fail)
    with TestClient(client.app, raise_server_exceptions=False) as http:
        response = http.get(f"{API}/questionnaires")
    body = assert_problem(response, 500)
    assert "secret detail" not in response.text
    assert body["status"] == 500
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, dict(response.headers)


def test_a_language_not_offered_is_refused_naming_lang(
    client: TestClient, database_url: str
) -> None:
    before = row_counts(database_url)
    response = client.post(
        f"{API}/responses", json={"questionnaire_id": QUESTIONNAIRE, "lang": "fr"}
    )
    assert_problem(response, 422, "lang")
    assert row_counts(database_url) == before
    created = create(client, answers={"anx01": 3})
    saved = client.put(
        f"{API}/responses/{created['response_id']}/answers",
        json={"answers": {"anx02": 3}, "lang": "fr"},
        headers=bearer(created["token"]),
    )
    assert_problem(saved, 422, "lang")
    assert read(client, created)["answers"] == {"anx01": 3}
    view = client.get(f"{API}/questionnaires/{QUESTIONNAIRE}", params={"lang": "fr"})
    assert_problem(view, 422, "lang")


def resource_ids(notice: dict[str, Any] | None) -> list[str]:
    assert notice is not None
    return [resource["id"] for resource in notice["resources"]]


def test_the_country_comes_from_accept_language_unless_given(client: TestClient) -> None:
    risky = {"questionnaire_id": QUESTIONNAIRE, "answers": {"wb_life": 1}}
    british = {"Accept-Language": "en-GB,en;q=0.8"}
    from_header = client.post(f"{API}/responses", json=risky, headers=british)
    assert from_header.status_code == 201
    ids = resource_ids(from_header.json()["crisis"])
    assert ids[0] == "gb-samaritans"
    assert read(client, from_header.json())["country"] == "GB"

    explicit = client.post(f"{API}/responses", json={**risky, "country": "US"}, headers=british)
    ids = resource_ids(explicit.json()["crisis"])
    assert "us-988-lifeline" in ids
    assert "gb-samaritans" not in ids

    scored = client.post(
        f"{API}/questionnaires/{QUESTIONNAIRE}/score",
        json={"answers": {"wb_life": 1}},
        headers=british,
    )
    assert scored.status_code == 200
    assert "gb-samaritans" in resource_ids(scored.json()["crisis"])


def test_crisis_resources_for_a_known_country_end_with_the_fallbacks(client: TestClient) -> None:
    response = client.get(f"{API}/crisis-resources", params={"country": "US"})
    assert response.status_code == 200
    body = response.json()
    assert body["country"] == "US"
    assert body["known_country"] is True
    ids = resource_ids(body)
    assert ids[-2:] == ["find-a-helpline", "local-emergency"]
    lifeline = next(r for r in body["resources"] if r["id"] == "us-988-lifeline")
    assert {(c["channel"], c["value"]) for c in lifeline["contacts"]} >= {
        ("call", "988"),
        ("text", "988"),
    }


def test_crisis_resources_for_an_unknown_country_still_offer_the_fallbacks(
    client: TestClient,
) -> None:
    response = client.get(f"{API}/crisis-resources", params={"country": "BR"})
    assert response.status_code == 200
    body = response.json()
    assert body["known_country"] is False
    assert resource_ids(body) == ["find-a-helpline", "local-emergency"]
    nowhere = client.get(f"{API}/crisis-resources")
    assert resource_ids(nowhere.json())[-2:] == ["find-a-helpline", "local-emergency"]
    assert_problem(client.get(f"{API}/crisis-resources", params={"country": "USA"}), 422, "country")


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}


def test_an_unmigrated_database_is_not_ready(
    settings: Settings, catalog: Catalog, tmp_path: Path
) -> None:
    if not settings.is_sqlite:
        pytest.skip("an empty database is made here as a SQLite file")
    empty = Settings(
        environment="test", database_url=f"sqlite:///{tmp_path / 'empty.db'}", default_country=None
    )
    app = create_app(empty, catalog)
    with TestClient(app) as http:
        assert http.get("/healthz").status_code == 200
        assert_problem(http.get("/readyz"), 503)


def test_an_unfinished_response_past_its_expiry_is_gone(
    client: TestClient, settings: Settings
) -> None:
    created = client.post(
        "/api/v1/responses",
        json={"questionnaire_id": "attachment-self-reflection", "answers": {"anx01": 4}},
    ).json()
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE response_session SET expires_at = :past WHERE id = :id"),
            {"past": dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "id": created["response_id"]},
        )
    engine.dispose()

    read = client.get(
        f"/api/v1/responses/{created['response_id']}",
        headers={"Authorization": f"Bearer {created['token']}"},
    )

    assert read.status_code == 404
