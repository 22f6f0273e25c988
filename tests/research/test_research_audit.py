"""Every export served is in the audit log (key, endpoint, filters, time, N, cells withheld),
which ``securebase audit`` lists; refused requests are logged with their outcome, and are not
counted as exports (see test_research_audit_refusals.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from research_support import Respondent, export, insert, new_key, ok, table_rows

from app.cli import main
from app.config import get_settings
from app.metrics import exposition
from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def exports_served() -> float:
    text = exposition()[0].decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("securebase_research_exports_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_each_export_is_logged_with_what_it_covered(
    research_client: TestClient, catalog: Catalog, database_url: str
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    people = [Respondent(dict(ANSWERS), study="alpha") for _ in range(30)]
    people += [Respondent({**ANSWERS, "wb_now": 1}, study="alpha") for _ in range(3)]
    insert(engine, catalog, people)
    key = new_key(engine, ["alpha"], name="Audited Researcher")
    served_before = exports_served()
    started = dt.datetime.now(dt.UTC)

    summary = ok(export(research_client, "summary", key, study="alpha", group_by="country"))
    ok(export(research_client, "items", key))
    csv = export(research_client, "histograms", key, format="csv")
    assert csv.status_code == 200
    ok(export(research_client, "codebook", key))
    assert export(research_client, "summary", key, study="beta").status_code == 404
    assert export(research_client, "summary", key, period="fortnight").status_code == 422
    assert export(research_client, "summary", "sbr_wrong").status_code == 401

    logged = table_rows(database_url, "research_export_audit")
    rows = [row for row in logged if row["outcome"] == 200]
    assert [row["endpoint"] for row in rows] == ["summary", "items", "histograms", "codebook"]
    assert [row["outcome"] for row in logged if row["outcome"] != 200] == [404, 422, 401]
    key_id = table_rows(database_url, "researcher_key")[0]["id"]
    assert {row["researcher_key_id"] for row in rows} == {key_id}
    assert [row["researcher_key_id"] for row in logged[4:]] == [key_id, key_id, None]
    first = rows[0]
    filters = (
        first["filters"] if isinstance(first["filters"], dict) else json.loads(first["filters"])
    )
    assert filters["study"] == "alpha"
    assert filters["group_by"] == "country"
    assert filters["format"] == "json"
    assert first["n"] == 33
    assert first["cells_suppressed"] == len(summary["suppressed"]) > 0
    assert first["privacy"] == "suppression"
    assert first["epsilon"] is None
    logged = first["created_at"]
    logged = logged if isinstance(logged, dt.datetime) else dt.datetime.fromisoformat(logged)
    logged = logged if logged.tzinfo else logged.replace(tzinfo=dt.UTC)
    assert started - dt.timedelta(seconds=5) <= logged <= dt.datetime.now(dt.UTC)
    assert exports_served() - served_before == 4


def test_the_audit_command_lists_the_log(
    research_client: TestClient, catalog: Catalog, cli: CliRunner
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, [Respondent(dict(ANSWERS)) for _ in range(20)])
    key = new_key(engine, name="Listed Researcher")
    ok(export(research_client, "summary", key, study="alpha"))
    ok(export(research_client, "histograms", key))

    listed = cli.invoke(main, ["audit"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 3  # header and two exports, oldest first
    assert "summary" in lines[1]
    assert "histograms" in lines[2]
    assert "Listed Researcher" in lines[1]
    assert " 20 " in lines[1]
    assert '"study": "alpha"' in lines[1]
    assert key not in listed.output
    assert len(cli.invoke(main, ["audit", "--limit", "1"]).output.strip().splitlines()) == 2
