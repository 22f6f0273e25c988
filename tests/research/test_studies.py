"""Padding a study to read its small cells: studies are registered by the operator, joined
only through an enrolment code that is not their public name, dp-only studies are released
only through privacy=dp, and erasures per day show a burst of padding."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from research_support import (
    PROBLEM_JSON,
    QUESTIONNAIRE,
    Respondent,
    export,
    insert,
    new_key,
    ok,
)
from study_registry import register

from app.cli import main
from app.config import get_settings
from app.web.security import CSRF_FIELD
from scoring.catalog import Catalog

API = "/api/v1"
ANSWERS_FOR_TESTS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _engine(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def _submit(client: TestClient, study: str | None) -> dict[str, Any]:
    return client.post(
        f"{API}/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": ANSWERS_FOR_TESTS,
            "submit": True,
            "consent": {"research": True},
            "study": study,
        },
    ).json()


def test_a_study_cannot_be_padded_through_the_api_by_its_public_name(
    research_client: TestClient,
) -> None:
    """The attack as reproduced: a researcher posts responses of known content to ``s1``."""
    register(_engine(research_client), "s1")
    for study in ("s1", "never-registered"):
        refused = research_client.post(
            f"{API}/responses",
            json={"questionnaire_id": QUESTIONNAIRE, "answers": {"anx01": 4}, "study": study},
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert [e["item"] for e in refused.json()["errors"]] == ["study"]


def test_the_enrolment_code_enrols_in_the_study_under_its_public_name(
    research_client: TestClient,
) -> None:
    enrolment = register(_engine(research_client), "s1")
    assert enrolment != "s1"
    created = _submit(research_client, enrolment)
    read = research_client.get(
        f"{API}/responses/{created['response_id']}",
        headers={"Authorization": f"Bearer {created['token']}"},
    )
    assert read.json()["study"] == "s1"


def test_the_web_client_follows_an_enrolment_link_and_ignores_anything_else(
    research_client: TestClient,
) -> None:
    enrolment = register(_engine(research_client), "s1")
    web = research_client
    web.base_url = web.base_url.copy_with(scheme="https")
    web.follow_redirects = False
    for code, stored in ((enrolment, "s1"), ("s1", None), ("unknown-study", None)):
        web.cookies.clear()
        landing = web.get("/", params={"study": code})
        assert landing.status_code == 200
        assert (f'name="study" value="{code}"' in landing.text) == (stored is not None)
        csrf = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', landing.text)
        assert csrf
        started = web.post("/start", data={CSRF_FIELD: csrf.group(1), "study": code})
        assert started.status_code == 303, started.text
        cookie = next(v for k, v in web.cookies.items() if k.endswith("session"))
        response_id, token = cookie.strip('"').split(".", 1)
        read = web.get(
            f"{API}/responses/{response_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert read.json()["study"] == stored, code


@pytest.fixture
def dp_only_study(research_client: TestClient, catalog: Catalog) -> TestClient:
    """15 responses in the dp-only study s1, 20 in the exact study s2."""
    engine = _engine(research_client)
    register(engine, "s1", "dp-only")
    register(engine, "s2")
    people = [Respondent(dict(ANSWERS_FOR_TESTS), study="s1") for _ in range(15)]
    people += [Respondent(dict(ANSWERS_FOR_TESTS), study="s2") for _ in range(20)]
    insert(engine, catalog, people)
    return research_client


def test_a_dp_only_study_is_refused_an_exact_export_naming_the_rule(
    dp_only_study: TestClient,
) -> None:
    key = new_key(_engine(dp_only_study))
    for endpoint in ("summary", "histograms", "items"):
        refused = export(dp_only_study, endpoint, key, study="s1")
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == PROBLEM_JSON
        body = refused.json()
        assert body["type"] == "/problems/dp-only-study"
        assert [e["item"] for e in body["errors"]] == ["privacy"]
        assert "privacy=dp" in body["detail"]
    released = ok(export(dp_only_study, "summary", key, study="s1", privacy="dp", epsilon=0.5))
    assert released["meta"]["privacy"]["mode"] == "dp"


def test_an_exact_export_of_several_studies_leaves_the_dp_only_ones_out(
    dp_only_study: TestClient,
) -> None:
    engine = _engine(dp_only_study)
    for key in (new_key(engine), new_key(engine, ["s1", "s2"])):
        body = ok(export(dp_only_study, "summary", key))
        assert body["n"] == 20
        assert "s1" in body["meta"]["coverage"]
        grouped = ok(export(dp_only_study, "summary", key, group_by="study"))
        assert [g["key"] for g in grouped["groups"]] == ["s2"]


def test_an_enrolment_link_can_name_the_questionnaire_and_an_unknown_one_registers_nothing(
    cli: CliRunner,
) -> None:
    """A site offering several questionnaires prints each study's link for the one asked."""
    chosen = cli.invoke(main, ["studies", "add", "s2", "--questionnaire", QUESTIONNAIRE])
    assert chosen.exit_code == 0, chosen.output
    enrolment = chosen.stdout.strip()
    assert f"/?study={enrolment}&questionnaire={QUESTIONNAIRE}" in chosen.stderr
    shown = cli.invoke(main, ["studies", "show", "s2", "--questionnaire", QUESTIONNAIRE])
    assert f"/?study={enrolment}&questionnaire={QUESTIONNAIRE}" in shown.output

    unknown = cli.invoke(main, ["studies", "add", "s3", "--questionnaire", "no-such-thing"])
    assert unknown.exit_code != 0
    assert "not a questionnaire offered here" in unknown.output
    assert "s3" not in cli.invoke(main, ["studies", "list"]).output


def test_studies_add_list_and_show_with_submissions_and_erasures_per_day(
    cli: CliRunner, research_client: TestClient
) -> None:
    added = cli.invoke(main, ["studies", "add", "s1", "--exports", "dp-only"])
    assert added.exit_code == 0, added.output
    enrolment = added.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9]{20}", enrolment)
    assert f"/?study={enrolment}" in added.stderr
    again = cli.invoke(main, ["studies", "add", "s1"])
    assert again.exit_code != 0
    assert "already registered" in again.output

    listed = cli.invoke(main, ["studies", "list"])
    assert re.search(rf"s1\s+dp-only\s+.*{enrolment}", listed.output)

    padding = [_submit(research_client, enrolment) for _ in range(5)]
    for created in padding[:4]:
        erased = research_client.delete(
            f"{API}/responses/{created['response_id']}",
            headers={"Authorization": f"Bearer {created['token']}"},
        )
        assert erased.status_code == 204

    shown = cli.invoke(main, ["studies", "show", "s1"])
    assert shown.exit_code == 0, shown.output
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert re.search(rf"^{today}\s+1\s+1\s+4$", shown.output, re.MULTILINE), shown.output
    assert f"/?study={enrolment}" in shown.output
    assert padding[0]["response_id"] not in shown.output
    assert cli.invoke(main, ["studies", "show", "nope"]).exit_code != 0
