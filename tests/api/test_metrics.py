"""Operators see counts, never people: /metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi.testclient import TestClient

SCORE = "/api/v1/questionnaires/attachment-self-reflection/score"


def sample(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return sum(float(line.split()[-1]) for line in lines)


def test_crisis_notices_are_counted_by_level_without_any_identifier(client: TestClient) -> None:
    before = sample(client.get("/metrics").text, 'securebase_crisis_notices_total{level="acute"}')
    created = client.post(
        "/api/v1/responses",
        json={"questionnaire_id": "attachment-self-reflection", "answers": {"wb_now": 1}},
    ).json()
    client.post(SCORE, json={"answers": {"wb_now": 1}})

    metrics = client.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    after = sample(metrics.text, 'securebase_crisis_notices_total{level="acute"}')
    assert after - before == 2
    assert created["response_id"] not in metrics.text
    assert created["token"] not in metrics.text


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    client.get("/api/v1/responses/some-unknown-id")

    text = client.get("/metrics").text

    assert 'route="/api/v1/responses/{response_id}"' in text
    assert "some-unknown-id" not in text
    assert 'status="404"' in text
