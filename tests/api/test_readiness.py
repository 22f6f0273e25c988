"""``/readyz`` for load balancers and deploy scripts: each way of not being ready is a 503
problem that says when to ask again (``Retry-After``), as the operation's description says."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from helpers import assert_problem

from app.config import Settings
from app.errors import RETRY_AFTER_SECONDS
from app.main import create_app
from scoring.catalog import Catalog


def test_a_database_not_yet_migrated_is_not_ready_and_says_when_to_ask_again(
    catalog: Catalog, tmp_path: Path
) -> None:
    # A file no migration has run on: the schema is behind the code.
    unmigrated = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'new.db'}")
    app = create_app(unmigrated, catalog)
    with TestClient(app) as http:
        refused = http.get("/readyz")
        alive = http.get("/healthz")
    app.state.engine.dispose()

    problem = assert_problem(refused, 503)
    assert problem["type"] == "/problems/unavailable"
    assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert refused.headers["cache-control"] == "no-store"
    assert alive.status_code == 200


def test_the_documented_not_ready_answer_names_retry_after_for_both_causes(
    client: TestClient,
) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/readyz"]["get"]
    not_ready = operation["responses"]["503"]

    assert "Retry-After" in not_ready["headers"]
    assert "/problems/unavailable" in not_ready["description"]
    assert "Retry-After" in operation["description"]
