"""Nothing that carries answers, results, notices or tokens may be kept by a cache: every API
response is ``no-store``, except the public reads that are the same for everyone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

Q = "attachment-self-reflection"
API = "/api/v1"


def _no_store(response: object) -> bool:
    headers = response.headers  # type: ignore[attr-defined]
    return bool(headers.get("cache-control") == "no-store")


def test_stateless_scoring_with_a_crisis_notice_is_not_stored(client: TestClient) -> None:
    scored = client.post(f"{API}/questionnaires/{Q}/score", json={"answers": {"wb_now": 1}})
    assert scored.status_code == 200
    assert scored.json()["crisis"] is not None
    assert _no_store(scored)


def test_saving_answers_and_every_call_with_a_token_is_not_stored(client: TestClient) -> None:
    created = client.post(f"{API}/responses", json={"questionnaire_id": Q})
    assert _no_store(created)
    auth = {"Authorization": f"Bearer {created.json()['token']}"}
    path = f"{API}/responses/{created.json()['response_id']}"
    saved = client.put(f"{path}/answers", json={"answers": {"wb_now": 1}}, headers=auth)
    assert saved.status_code == 200
    assert saved.json()["crisis"] is not None
    assert _no_store(saved)
    assert _no_store(client.get(path, headers=auth))
    assert _no_store(client.delete(path, headers=auth))


def test_a_problem_body_echoing_answers_with_a_notice_is_not_stored(client: TestClient) -> None:
    refused = client.post(
        f"{API}/questionnaires/{Q}/score", json={"answers": {"wb_now": 1, "anx01": 99}}
    )
    assert refused.status_code == 422
    assert refused.json()["crisis"] is not None
    assert _no_store(refused)
    missing = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert missing.headers["content-type"] == "application/problem+json"
    assert _no_store(missing)


def test_a_failed_public_read_is_not_stored(client: TestClient) -> None:
    refused = client.get(f"{API}/questionnaires/{Q}", params={"lang": "xx"})
    assert refused.status_code == 422
    assert _no_store(refused)


def test_public_reads_may_be_cached_and_revalidated(client: TestClient) -> None:
    for path in (f"{API}/questionnaires", f"{API}/questionnaires/{Q}", f"{API}/crisis-resources"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, no-cache", path
    etag = client.get(f"{API}/questionnaires/{Q}").headers["etag"]
    again = client.get(f"{API}/questionnaires/{Q}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "public, no-cache"


def test_operations_endpoints_are_not_stored_by_default(client: TestClient) -> None:
    assert _no_store(client.get("/healthz"))


def test_an_unexpected_error_is_not_stored_either(
    settings: Settings, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("app.services.submissions.start_grouped", broken)
    app = create_app(settings, catalog)
    with TestClient(app, raise_server_exceptions=False) as http:
        failed = http.post(f"{API}/responses", json={"questionnaire_id": Q})
    app.state.engine.dispose()
    assert failed.status_code == 500
    assert _no_store(failed)
