"""Researcher keys: 401 without a valid key, 404 outside the key's studies, and the
``securebase researchers`` commands that create, list and revoke them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from research_support import (
    PROBLEM_JSON,
    Respondent,
    bearer,
    export,
    insert,
    new_key,
    ok,
    table_rows,
)

from app.cli import main
from app.config import get_settings
from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}


@pytest.fixture
def studies(research_client: TestClient, catalog: Catalog) -> TestClient:
    """15 responses in study alpha, 20 in beta, 12 without a study."""
    people = [Respondent(dict(ANSWERS), study="alpha") for _ in range(15)]
    people += [Respondent(dict(ANSWERS), study="beta") for _ in range(20)]
    people += [Respondent(dict(ANSWERS), study=None) for _ in range(12)]
    insert(research_client.app.state.engine, catalog, people)  # type: ignore[attr-defined]
    return research_client


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def assert_unauthorized(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get(
        "/api/v1/research/summary",
        params={"questionnaire_id": "attachment-self-reflection"},
        headers=headers,
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401
    assert response.json()["type"] == "/problems/unauthorized"
    assert "n" not in response.json()


def test_no_key_a_wrong_key_or_another_scheme_get_401(studies: TestClient) -> None:
    assert_unauthorized(studies, {})
    assert_unauthorized(studies, bearer("sbr_" + "x" * 43))
    assert_unauthorized(studies, bearer("not-even-a-key"))
    assert_unauthorized(studies, {"Authorization": "Basic dXNlcjpwYXNz"})


def test_every_endpoint_needs_a_key(studies: TestClient) -> None:
    for endpoint in ("summary", "histograms", "items", "codebook"):
        response = export(studies, endpoint, None)
        assert response.status_code == 401, endpoint


def test_a_scoped_key_sees_only_its_studies(studies: TestClient) -> None:
    engine = studies.app.state.engine  # type: ignore[attr-defined]
    alpha_only = new_key(engine, ["alpha"])
    everything = new_key(engine)

    assert ok(export(studies, "summary", alpha_only))["n"] == 15
    assert ok(export(studies, "summary", alpha_only, study="alpha"))["n"] == 15
    grouped = ok(export(studies, "summary", alpha_only, group_by="study"))
    assert [g["key"] for g in grouped["groups"]] == ["alpha"]
    assert ok(export(studies, "summary", everything))["n"] == 47
    assert ok(export(studies, "summary", everything, study="beta"))["n"] == 20


def test_a_study_outside_the_scope_is_404_whether_or_not_it_exists(studies: TestClient) -> None:
    alpha_only = new_key(studies.app.state.engine, ["alpha"])  # type: ignore[attr-defined]
    for study in ("beta", "never-heard-of"):
        for endpoint in ("summary", "histograms", "items"):
            response = export(studies, endpoint, alpha_only, study=study)
            assert response.status_code == 404, (endpoint, study)
            assert response.headers["content-type"] == PROBLEM_JSON
            assert [e["item"] for e in response.json()["errors"]] == ["study"]


def test_keys_are_created_listed_and_revoked_from_the_command_line(
    studies: TestClient, cli: CliRunner, database_url: str
) -> None:
    created = cli.invoke(main, ["researchers", "add", "Dr. Ada Example", "--study", "alpha"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("sbr_")
    assert len(key.splitlines()) == 1, "stdout holds the key alone, for scripts"
    assert ok(export(studies, "summary", key))["n"] == 15

    stored = table_rows(database_url, "researcher_key")
    assert len(stored) == 1
    assert key not in str(stored), "only the key's digest is stored"

    listed = cli.invoke(main, ["researchers", "list"])
    assert listed.exit_code == 0
    assert "Dr. Ada Example" in listed.output
    assert "alpha" in listed.output
    assert "active" in listed.output
    assert key not in listed.output
    assert stored[0]["key_hash"] not in listed.output

    revoked = cli.invoke(main, ["researchers", "revoke", str(stored[0]["id"])])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in cli.invoke(main, ["researchers", "list"]).output
    assert export(studies, "summary", key).status_code == 401

    unknown = cli.invoke(main, ["researchers", "revoke", "999"])
    assert unknown.exit_code != 0
    assert "999" in unknown.output


def test_a_key_for_every_study_and_bad_study_codes(studies: TestClient, cli: CliRunner) -> None:
    created = cli.invoke(main, ["researchers", "add", "Team"])
    assert created.exit_code == 0
    assert ok(export(studies, "summary", created.stdout.strip()))["n"] == 47
    assert "every study" in created.stderr

    refused = cli.invoke(main, ["researchers", "add", "Team", "--study", "no spaces/allowed"])
    assert refused.exit_code != 0
    assert "study" in refused.output
