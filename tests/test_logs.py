"""Logs without personal data: a whole response flow leaves JSON lines that name route
templates and statuses, never the token, the response id, the study code or any answer."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from study_registry import register

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

API = "/api/v1"
QUESTIONNAIRE = "attachment-self-reflection"
STUDY = "LOGLEAKstudy987"
ANSWERS = {
    **{f"{p}{n:02d}": 6 for p in ("anx", "avo", "dis") for n in range(1, 10)},
    "avo03": 1,
    "wb_selfharm": 2,
}


def log_lines(err: str) -> list[dict[str, Any]]:
    lines = [line for line in err.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is a JSON object
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


def run_flow(http: TestClient) -> dict[str, str]:
    """Create, save, submit, read, refuse, erase: return the secrets it handled."""
    idempotency_key = "log-test-idempotency-key-000001"
    enrolment = register(http.app.state.engine, STUDY)  # type: ignore[attr-defined]
    created = http.post(
        f"{API}/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": {"anx01": 6, "wb_selfharm": 2},
            "study": enrolment,
            "consent": {"research": True},
            "country": "GB",
        },
        headers={"Idempotency-Key": idempotency_key, "Accept-Language": "en-GB"},
    )
    assert created.status_code == 201
    response_id, token = created.json()["response_id"], created.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{API}/responses/{response_id}"
    assert http.put(f"{url}/answers", json={"answers": ANSWERS}, headers=auth).status_code == 200
    refused = http.put(
        f"{url}/answers", json={"answers": {"zzsecretitem": 9, "anx02": 8.5}}, headers=auth
    )
    assert refused.status_code == 422
    assert http.post(f"{url}/submit", headers=auth).status_code == 200
    assert http.get(url, headers=auth, params={"country": "IE"}).status_code == 200
    assert http.get(url, headers={"Authorization": "Bearer wrong-token"}).status_code == 404
    assert http.get(f"{API}/no-such-route/{token}").status_code == 404
    assert http.delete(url, headers=auth).status_code == 204
    return {
        "token": token,
        "response id": response_id,
        "study code": STUDY,
        "enrolment code": enrolment,
        "idempotency key": idempotency_key,
        "unknown item": "zzsecretitem",
    }


def test_a_response_flow_logs_no_personal_data(
    settings: Settings, catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    # The app is made here, inside capsys, because the logger writes to sys.stderr as it is
    # when the app configures logging.
    app = create_app(settings, catalog)
    with TestClient(app) as http:
        secrets = run_flow(http)
    err = capsys.readouterr().err
    entries = log_lines(err)
    assert len(entries) >= 8, err

    for line in err.splitlines():
        for what, secret in secrets.items():
            assert secret not in line, f"the {what} is logged: {line}"
        for fragment in ('"answers"', "anx01", "anx02", "wb_selfharm", "avo03", "consent"):
            assert fragment not in line, f"an answer is logged: {line}"

    requests = [entry for entry in entries if entry.get("event") == "request"]
    # An access log line has room for nothing else: no path, query, headers or body.
    allowed = {"event", "level", "timestamp", "method", "route", "status", "duration_ms"}
    assert all(set(entry) <= allowed for entry in requests), requests
    routes = {entry["route"] for entry in requests}
    assert any(route.endswith("/responses/{response_id}") for route in routes), routes
    assert any(route.endswith("/responses/{response_id}/answers") for route in routes), routes
    assert any(route.endswith("/responses/{response_id}/submit") for route in routes), routes
    statuses = {(entry["method"], entry["status"]) for entry in requests}
    assert {("POST", 201), ("PUT", 200), ("PUT", 422), ("DELETE", 204), ("GET", 404)} <= statuses


def test_an_unexpected_error_logs_its_type_not_its_message(
    settings: Settings,
    catalog: Catalog,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exception messages can quote input, and input may be someone's answers."""
    from app.api import questionnaires as questionnaires_api

    def fail(*_args: object) -> None:
        raise ValueError("cannot score {'anx01': 7, 'wb_now': 1} for LOGLEAKstudy987")

    monkeypatch.setattr(questionnaires_api.service, "score_stateless", fail)
    app = create_app(settings, catalog)
    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.post(
            f"{API}/questionnaires/{QUESTIONNAIRE}/score", json={"answers": {"anx01": 7}}
        )
    assert response.status_code == 500
    err = capsys.readouterr().err
    errors = [entry for entry in log_lines(err) if entry.get("event") == "unhandled_error"]
    assert [entry.get("error_type") for entry in errors] == ["ValueError"], err
    assert "anx01" not in err
    assert STUDY not in err


def test_each_line_is_written_whole_as_json_dumps_would_write_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Lines keep their exact shape (key order, number formats, the fallback for what JSON
    cannot say), each written with its line end in one write."""
    import datetime as dt

    import structlog

    from app.logs import configure_logging

    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    before = structlog.get_config()
    try:
        stderr = sys.stderr
        writes: list[str] = []
        original = stderr.write

        def counted(text: str) -> int:
            writes.append(text)
            return original(text)

        stderr.write = counted  # type: ignore[method-assign]
        try:
            configure_logging("INFO")
            structlog.get_logger("t").info(
                "request", route="/r/ü", status=201, duration_ms=0.1, other=Opaque()
            )
        finally:
            stderr.write = original  # type: ignore[method-assign]
    finally:
        structlog.configure(**before)
    line = capsys.readouterr().err
    assert writes == [line]
    entry = json.loads(line)
    expected = {
        "route": "/r/ü",
        "status": 201,
        "duration_ms": 0.1,
        "other": "<opaque>",
        "event": "request",
        "level": "info",
        "timestamp": entry["timestamp"],
    }
    assert line == json.dumps(expected) + "\n"
    assert dt.datetime.fromisoformat(entry["timestamp"]).tzinfo == dt.UTC
    assert entry["timestamp"].endswith("Z")
