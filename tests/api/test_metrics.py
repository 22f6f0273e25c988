"""Operators see counts, never people: the Prometheus text format, on a port of its own
bound to the machine itself, or on the application's port only with the metrics token."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.metrics import start_metrics_server
from scoring.catalog import Catalog

SCORE = "/api/v1/questionnaires/attachment-self-reflection/score"
TOKEN = "m" * 40
LEVEL_LABEL = re.compile(r"[{,]level=")


def sample(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return sum(float(line.split()[-1]) for line in lines)


@pytest.fixture
def operator(settings: Settings, catalog: Catalog) -> Iterator[TestClient]:
    """An app with a metrics token, and the token sent with every request."""
    configured = Settings(
        environment="test", database_url=settings.database_url, metrics_token=TOKEN
    )
    app = create_app(configured, catalog)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield http
    app.state.engine.dispose()


def test_metrics_are_not_on_the_public_port_without_a_token(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 404
    assert "securebase_" not in response.text


def test_the_metrics_token_is_required_when_one_is_set(operator: TestClient) -> None:
    assert operator.get("/metrics", headers={"Authorization": ""}).status_code == 401
    wrong = operator.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert operator.get("/metrics").status_code == 200


def test_the_default_metrics_address_is_the_machine_itself() -> None:
    assert Settings(environment="test").metrics_address == "127.0.0.1:9464"
    with pytest.raises(ValueError, match="HOST:PORT"):
        Settings(environment="test", metrics_address="9464")


def test_crisis_notices_are_counted_without_telling_levels_apart(operator: TestClient) -> None:
    before = sample(operator.get("/metrics").text, "securebase_crisis_notices_total")
    created = operator.post(
        "/api/v1/responses",
        json={"questionnaire_id": "attachment-self-reflection", "answers": {"wb_now": 1}},
    ).json()
    operator.post(SCORE, json={"answers": {"wb_now": 1}})

    metrics = operator.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert sample(metrics.text, "securebase_crisis_notices_total") - before == 2
    assert not LEVEL_LABEL.search(metrics.text)
    assert "acute" not in metrics.text
    assert created["response_id"] not in metrics.text
    assert created["token"] not in metrics.text


def test_requests_are_counted_by_route_template_and_status(operator: TestClient) -> None:
    operator.get("/api/v1/responses/some-unknown-id")

    text = operator.get("/metrics").text

    assert 'route="/api/v1/responses/{response_id}"' in text
    assert "some-unknown-id" not in text
    assert 'status="404"' in text


def test_the_metrics_port_serves_the_same_counts(client: TestClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server, thread = start_metrics_server("127.0.0.1", port)
    try:
        client.post(SCORE, json={"answers": {"wb_now": 1}})
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert sample(text, "securebase_crisis_notices_total") >= 1
    assert not LEVEL_LABEL.search(text)


def test_a_head_request_is_counted_under_the_route_it_matched(operator: TestClient) -> None:
    # HEAD is answered as GET; its count and log line still name the route it reached.
    counted = 'securebase_http_requests_total{method="HEAD",route="/api/v1/questionnaires",'
    before = sample(operator.get("/metrics").text, counted)
    assert operator.head("/api/v1/questionnaires").status_code == 200

    text = operator.get("/metrics").text

    assert sample(text, counted) == before + 1
    assert 'method="HEAD",route="unmatched"' not in text
