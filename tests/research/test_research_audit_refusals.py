"""A leaked key probing scopes or draining a budget shows in the audit: every research call
is logged with its outcome (401, 403, 404, 422, 429, 500), and a refused call carries no
data; refused calls count towards the hourly limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from research_support import Respondent, export, insert, new_key, ok, table_rows

from app.cli import main
from app.config import Settings, get_settings
from app.main import create_app
from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _filters(row: dict[str, Any]) -> dict[str, Any]:
    value = row["filters"]
    return value if isinstance(value, dict) else dict(json.loads(value))


def test_every_refused_call_is_logged_with_its_outcome_and_no_data(
    make_client: Any, catalog: Catalog, database_url: str, cli: CliRunner
) -> None:
    client: TestClient = make_client(research_exports_per_hour=6)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, [Respondent(dict(ANSWERS), study="alpha") for _ in range(12)])
    key = new_key(engine, ["alpha"], name="Probing Key")

    assert export(client, "summary", "sbr_" + "x" * 43, study="alpha").status_code == 401
    assert export(client, "summary", key, study="beta").status_code == 404
    assert export(client, "summary", key, group_by="shoe-size").status_code == 422
    assert export(client, "summary", key, period="fortnight").status_code == 422
    ok(export(client, "summary", key, study="alpha", privacy="dp", epsilon=0.9))
    drained = export(client, "summary", key, study="alpha", privacy="dp", epsilon=0.5)
    assert drained.status_code == 403
    # Six calls with the key in the hour (the 401 had no key): the seventh is refused.
    ok(export(client, "codebook", key))
    assert export(client, "items", key).status_code == 429

    rows = table_rows(database_url, "research_export_audit")
    outcomes = [(row["endpoint"], row["outcome"]) for row in rows]
    assert outcomes == [
        ("summary", 401),
        ("summary", 404),
        ("summary", 422),
        ("summary", 422),
        ("summary", 200),
        ("summary", 403),
        ("codebook", 200),
        ("items", 429),
    ]
    key_id = table_rows(database_url, "researcher_key")[0]["id"]
    assert [row["researcher_key_id"] for row in rows] == [None] + [key_id] * 7
    refused = [row for row in rows if row["outcome"] != 200]
    assert all(row["n"] is None and row["cells_suppressed"] == 0 for row in refused)
    assert _filters(rows[1])["study"] == "beta"
    assert _filters(rows[2])["group_by"] == "shoe-size"
    assert rows[5]["epsilon"] is None  # the refused release spent nothing

    listed = cli.invoke(main, ["audit"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()[1:]
    assert len(lines) == 8
    assert " 401 " in lines[0]
    assert "(no valid key)" in lines[0]
    statuses = [o for _, o in outcomes]
    assert all(f" {s} " in line for line, s in zip(lines, statuses, strict=True))
    assert key not in listed.output


def test_an_export_that_fails_is_logged_as_500(
    database_url: str, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("app.api.research.build_summary", broken)
    app = create_app(Settings(environment="test", database_url=database_url), catalog)
    with TestClient(app, raise_server_exceptions=False) as client:
        key = new_key(app.state.engine)
        assert export(client, "summary", key).status_code == 500
    app.state.engine.dispose()
    rows = table_rows(database_url, "research_export_audit")
    assert [(row["endpoint"], row["outcome"], row["n"]) for row in rows] == [("summary", 500, None)]
