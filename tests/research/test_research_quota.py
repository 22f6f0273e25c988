"""A researcher key has a number of exports per hour, counted in the database: the limit holds
across app instances, and each key has its own."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from research_support import PROBLEM_JSON, export, new_key, ok


def test_a_key_past_its_hourly_exports_gets_429_with_when_to_try_again(make_client: Any) -> None:
    first: TestClient = make_client(research_exports_per_hour=3)
    second: TestClient = make_client(research_exports_per_hour=3)  # another instance
    engine = first.app.state.engine  # type: ignore[attr-defined]
    busy, other = new_key(engine, name="Busy"), new_key(engine, name="Other")

    ok(export(first, "summary", busy))
    ok(export(second, "items", busy))
    ok(export(first, "codebook", busy))
    for client in (first, second):
        refused = export(client, "histograms", busy)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert refused.json()["type"] == "/problems/too-many-requests"
        assert "the limit is 3" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 3600

    ok(export(second, "histograms", other))
    assert export(first, "summary", "sbr_" + "x" * 43).status_code == 401
