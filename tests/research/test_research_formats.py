"""JSON by default, CSV on request (``format=csv`` or ``Accept: text/csv``) with the same
values; every export says what it covers; bad input is a 4xx problem naming the field."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from research_support import (
    PROBLEM_JSON,
    QUESTIONNAIRE,
    Respondent,
    bearer,
    export,
    insert,
    new_key,
    ok,
)

from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}
HIGH = {**ANSWERS, **{f"avo{n:02d}": 6 for n in range(1, 10)}, "avo02": 2, "avo05": 2, "avo08": 2}


@pytest.fixture
def client_and_key(research_client: TestClient, catalog: Catalog) -> tuple[TestClient, str]:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    people = [Respondent(dict(ANSWERS), study="alpha") for _ in range(25)]
    people += [Respondent(dict(HIGH), study="beta") for _ in range(14)]
    people += [Respondent({**ANSWERS, "wb_life": 2}, study="beta") for _ in range(4)]
    insert(engine, catalog, people)
    return research_client, new_key(engine)


def read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), comment="#", keep_default_na=False, na_values=[""])


def test_json_by_default_and_csv_when_asked(client_and_key: tuple[TestClient, str]) -> None:
    client, key = client_and_key
    assert export(client, "summary", key).headers["content-type"] == "application/json"
    by_param = export(client, "summary", key, format="csv")
    by_header = client.get(
        "/api/v1/research/summary",
        params={"questionnaire_id": QUESTIONNAIRE},
        headers={**bearer(key), "Accept": "text/csv"},
    )
    preferring_json = client.get(
        "/api/v1/research/summary",
        params={"questionnaire_id": QUESTIONNAIRE},
        headers={**bearer(key), "Accept": "application/json, text/csv;q=0.5"},
    )
    for response in (by_param, by_header):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert 'filename="summary.csv"' in response.headers["content-disposition"]
    assert preferring_json.headers["content-type"] == "application/json"
    assert (
        export(client, "summary", key, format="json").headers["content-type"] == "application/json"
    )


def test_the_csv_holds_the_same_values_as_the_json(client_and_key: tuple[TestClient, str]) -> None:
    client, key = client_and_key
    body = ok(export(client, "summary", key, group_by="study"))
    table = read_csv(export(client, "summary", key, group_by="study", format="csv").text)

    overall = table[table["group"] == "(all)"]

    def value(frame: pd.DataFrame, section: str, category: str, statistic: str) -> Any:
        row = frame[
            (frame["section"] == section)
            & (frame["category"].fillna("") == category)
            & (frame["statistic"] == statistic)
        ]
        assert len(row) == 1, (section, category, statistic)
        return row.iloc[0]

    assert value(overall, "n", "", "n")["value"] == body["n"] == 43
    assert value(overall, "dimension", "avoidance", "mean")["value"] == pytest.approx(
        body["dimensions"]["avoidance"]["mean"], abs=1e-12
    )
    urgent = value(overall, "crisis", "urgent", "count")
    assert bool(urgent["withheld"]) is True
    assert pd.isna(urgent["value"])
    assert "/crisis/urgent/count" in body["suppressed"]
    beta = table[table["group"] == "beta"]
    assert value(beta, "n", "", "n")["value"] == body["groups"][1]["n"] == 18
    # 14 of beta's 18 are elevated on avoidance: the 4 who are not would follow, so withheld.
    elevated = value(beta, "tendency_elevated", "avoidant", "count")
    assert bool(elevated["withheld"]) is True
    assert pd.isna(elevated["value"])
    assert body["groups"][1]["tendencies"]["elevated"]["avoidant"]["count"] is None
    assert set(table["group_by"]) == {"study"}
    assert int(table["withheld"].sum()) == len(body["suppressed"])


def test_every_export_says_what_it_covers(
    client_and_key: tuple[TestClient, str], catalog: Catalog
) -> None:
    client, key = client_and_key
    loaded = catalog.definitions[QUESTIONNAIRE]
    for endpoint in ("summary", "histograms", "items"):
        meta = ok(export(client, endpoint, key, study="beta", since="2026-01-01"))["meta"]
        assert meta["questionnaire"] == {
            "id": QUESTIONNAIRE,
            "version": "1.0.1",
            "hash": loaded.content_hash,
        }
        assert meta["filters"]["study"] == "beta"
        assert meta["filters"]["since"] == "2026-01-01"
        assert meta["n"] == 18
        assert meta["generated_at"]
        assert meta["privacy"]["mode"] == "suppression"
        assert meta["suppression"]["min_cell_size"] == 11
        assert "consent" in meta["coverage"]
        assert meta["codebook"].startswith("/api/v1/research/codebook")
    text = export(client, "items", key, format="csv").text
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any(loaded.content_hash in line for line in comments)
    assert any(line.startswith("# suppression:") for line in comments)


@pytest.mark.parametrize(
    ("endpoint", "params", "field"),
    [
        ("summary", {"questionnaire_id": None}, "questionnaire_id"),
        ("summary", {"questionnaire_id": "nope"}, "questionnaire_id"),
        ("items", {"since": "yesterday"}, "since"),
        ("histograms", {"until": "2026-02-30"}, "until"),
        ("summary", {"since": "2026-03-01", "until": "2026-02-01"}, "until"),
        ("summary", {"since": "1990-01-01", "until": "2026-01-01", "period": "week"}, "since"),
        ("summary", {"period": "day"}, "period"),
        ("summary", {"group_by": "email"}, "group_by"),
        ("items", {"format": "xlsx"}, "format"),
        ("summary", {"study": "a/b"}, "study"),
        ("histograms", {"group_by": "study"}, None),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    client_and_key: tuple[TestClient, str], endpoint: str, params: dict[str, Any], field: str | None
) -> None:
    client, key = client_and_key
    query = {"questionnaire_id": QUESTIONNAIRE, **params}
    query = {k: v for k, v in query.items() if v is not None}
    response = client.get(f"/api/v1/research/{endpoint}", params=query, headers=bearer(key))
    if field is None:  # parameters an endpoint does not have are ignored, like everywhere
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert field in [error["item"] for error in response.json()["errors"]]


def test_too_few_responses_withhold_everything_but_say_so(
    research_client: TestClient, catalog: Catalog
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, [Respondent(dict(ANSWERS)) for _ in range(7)])
    key = new_key(engine)
    summary = ok(export(research_client, "summary", key, group_by="country"))
    assert summary["n"] is None
    assert summary["dimensions"]["anxiety"]["mean"] is None
    assert summary["groups"] == []
    assert "/n" in summary["suppressed"]
    assert "/dimensions/anxiety/mean" in summary["suppressed"]
    assert summary["meta"]["n"] is None
    items = ok(export(research_client, "items", key))
    assert items["items"]["anx01"]["distribution"]["4"] is None
    assert items["reliability"]["anxiety"]["alpha"] is None
    histograms = ok(export(research_client, "histograms", key))
    assert all(b["count"] is None for b in histograms["dimensions"]["anxiety"]["bins"])


def test_no_responses_at_all_is_an_honest_zero(research_client: TestClient) -> None:
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]
    summary = ok(export(research_client, "summary", key))
    assert summary["n"] == 0
    assert summary["dimensions"]["anxiety"]["mean"] is None
    assert summary["suppressed"] == []
    assert ok(export(research_client, "items", key))["n"] == 0
