"""``epsilon`` belongs to privacy=dp: sent with suppression it is refused naming it, and the
OpenAPI document says so."""

from __future__ import annotations

from fastapi.testclient import TestClient
from research_support import PROBLEM_JSON, export, new_key


def test_epsilon_without_privacy_dp_is_refused_naming_epsilon(
    research_client: TestClient,
) -> None:
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]
    for endpoint in ("summary", "histograms", "items"):
        refused = export(research_client, endpoint, key, epsilon=0.5)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert [e["item"] for e in refused.json()["errors"]] == ["epsilon"]


def test_the_schema_documents_epsilon_as_dp_only(research_client: TestClient) -> None:
    paths = research_client.get("/openapi.json").json()["paths"]
    for endpoint in ("summary", "histograms", "items"):
        parameters = paths[f"/api/v1/research/{endpoint}"]["get"]["parameters"]
        epsilon = next(p for p in parameters if p["name"] == "epsilon")
        assert "Only with privacy=dp" in epsilon["description"]
        assert "422" in epsilon["description"]
