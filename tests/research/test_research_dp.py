"""Differential privacy: releases through OpenDP, calibrated to the scale, charged to a
per-study budget kept in the database; a release over budget is refused with 403."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from research_support import PROBLEM_JSON, Respondent, export, insert, new_key, ok, table_rows

from app.services.research.dp import PrivateRelease, _count_chain, _histogram_chain, _sum_chain
from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}
HIGH = {**ANSWERS, **{f"anx{n:02d}": 7 for n in range(1, 10)}, "anx03": 1, "anx07": 1}


@pytest.fixture
def data(research_client: TestClient, catalog: Catalog) -> tuple[TestClient, str]:
    people = [Respondent(dict(ANSWERS), study="alpha") for _ in range(30)]
    people += [Respondent(dict(HIGH), study="alpha") for _ in range(10)]
    people += [Respondent(dict(ANSWERS), study="beta") for _ in range(25)]
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, people)
    return research_client, new_key(engine)


def refused(response: object, spent: str, left: str) -> None:
    assert response.status_code == 403, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM_JSON  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["type"] == "/problems/privacy-budget-exhausted"
    message = body["errors"][0]["message"]
    assert body["errors"][0]["item"] == "epsilon"
    assert f"spent {spent}" in message
    assert f"left {left}" in message


def test_a_private_summary_says_what_it_spent_and_withholds_what_it_cannot_release(
    data: tuple[TestClient, str],
) -> None:
    client, key = data
    body = ok(export(client, "summary", key, study="alpha", privacy="dp", epsilon=0.5))

    privacy = body["meta"]["privacy"]
    assert privacy["mode"] == "dp"
    assert privacy["epsilon"] == 0.5
    assert "OpenDP" in privacy["mechanism"]
    assert privacy["budget"] == {"study": "alpha", "total": 1.0, "spent": 0.5, "left": 0.5}
    assert body["meta"]["suppression"] is None
    for dimension in body["dimensions"].values():
        # Clamped to the scale; undefined only when the noisy N is 0.
        assert dimension["mean"] is None or 1.0 <= dimension["mean"] <= 7.0
        assert (dimension["mean"] is None) == (body["n"] == 0)
        assert dimension["sd"] is None
        assert dimension["median"] is None
    assert "/dimensions/anxiety/sd" in body["suppressed"]
    assert body["periods"]["counts"] is None  # the time range is not public without since/until
    assert all(
        0 <= c["share"] <= 1
        for c in body["tendencies"]["primary"].values()
        if c["share"] is not None
    )
    assert body["n"] >= 0


def test_the_budget_is_kept_per_study_refused_when_spent_and_survives_a_restart(
    data: tuple[TestClient, str], make_client: object, database_url: str
) -> None:
    client, key = data
    ok(export(client, "summary", key, study="alpha", privacy="dp", epsilon=0.4))
    ok(export(client, "histograms", key, study="alpha", privacy="dp", epsilon=0.4))

    refused(export(client, "items", key, study="alpha", privacy="dp", epsilon=0.4), "0.8", "0.2")
    # The refused release cost nothing and is in the audit log as refused, spending nothing.
    assert [row["epsilon_spent"] for row in table_rows(database_url, "privacy_budget")] == [
        pytest.approx(0.8)
    ]
    logged = table_rows(database_url, "research_export_audit")
    assert [(row["outcome"], row["epsilon"]) for row in logged] == [
        (200, 0.4),
        (200, 0.4),
        (403, None),
    ]

    # Another study has its own budget.
    other = ok(export(client, "summary", key, study="beta", privacy="dp", epsilon=0.9))
    assert other["meta"]["privacy"]["budget"]["left"] == pytest.approx(0.1)

    # A new process on the same database knows what was spent.
    restarted: TestClient = make_client()  # type: ignore[operator]
    refused(
        export(restarted, "summary", key, study="alpha", privacy="dp", epsilon=0.3), "0.8", "0.2"
    )
    last = ok(export(restarted, "summary", key, study="alpha", privacy="dp", epsilon=0.2))
    assert last["meta"]["privacy"]["budget"]["left"] == pytest.approx(0.0)
    refused(export(restarted, "summary", key, study="alpha", privacy="dp", epsilon=0.01), "1", "0")

    audit = table_rows(database_url, "research_export_audit")
    served = [row for row in audit if row["outcome"] == 200]
    assert [row["epsilon"] for row in served] == [0.4, 0.4, 0.9, 0.2]
    assert {row["privacy"] for row in audit} == {"dp"}
    assert [row["outcome"] for row in audit if row["outcome"] != 200] == [403, 403, 403]


def test_suppression_exports_spend_nothing(data: tuple[TestClient, str], database_url: str) -> None:
    client, key = data
    ok(export(client, "summary", key, study="alpha"))
    assert table_rows(database_url, "privacy_budget") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"privacy": "dp", "study": "alpha"}, "epsilon"),
        ({"privacy": "dp", "epsilon": 0.1}, "study"),
        ({"privacy": "dp", "epsilon": 0.1, "study": "alpha", "group_by": "country"}, "group_by"),
        ({"privacy": "dp", "epsilon": 1.5, "study": "alpha"}, "epsilon"),
        ({"privacy": "dp", "epsilon": 0, "study": "alpha"}, "epsilon"),
        ({"privacy": "dp", "epsilon": 5e-324, "study": "alpha"}, "epsilon"),
        ({"privacy": "dp", "epsilon": "lots", "study": "alpha"}, "epsilon"),
        ({"epsilon": 0.1}, "epsilon"),
        ({"privacy": "secret"}, "privacy"),
    ],
)
def test_bad_privacy_parameters_are_named(
    data: tuple[TestClient, str], params: dict[str, object], field: str
) -> None:
    client, key = data
    response = export(client, "summary", key, **params)
    assert response.status_code == 422, response.text
    assert field in [e["item"] for e in response.json()["errors"]]


def test_with_a_large_epsilon_the_release_is_close_to_the_truth(
    make_client: object, catalog: Catalog
) -> None:
    client: TestClient = make_client(dp_total_epsilon=100.0)  # type: ignore[operator]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, [Respondent(dict(HIGH), study="alpha") for _ in range(40)])
    key = new_key(engine)
    body = ok(
        export(
            client,
            "summary",
            key,
            study="alpha",
            privacy="dp",
            epsilon=50,
            since="2026-03-01",
            until="2026-03-31",
        )
    )
    assert abs(body["n"] - 40) <= 3
    assert body["dimensions"]["anxiety"]["mean"] == pytest.approx(7.0, abs=0.3)
    assert abs(body["tendencies"]["elevated"]["anxious"]["count"] - 40) <= 3
    assert abs(body["periods"]["counts"]["2026-03"] - 40) <= 3
    histograms = ok(export(client, "histograms", key, study="alpha", privacy="dp", epsilon=50))
    assert abs(histograms["dimensions"]["anxiety"]["bins"][-1]["count"] - 40) <= 3


def test_opendp_calibrates_each_release_to_its_share_of_epsilon() -> None:
    # Counts change by one when one response is added or removed; the noise is as small as
    # the share of epsilon allows (the privacy loss sits just under it).
    query, noise = _count_chain(0.25)
    assert query.map(1) == 1
    assert 0.2499 < (query >> noise).map(1) <= 0.25
    # A partition into categories: one response changes one count.
    query, noise = _histogram_chain(5, 0.5)
    assert (query >> noise).map(1) <= 0.5
    # Sums of scores bounded by the scale 1..7: sensitivity 7 (plus float rounding slack).
    query, noise = _sum_chain(1.0, 7.0, 0.5)
    assert 7.0 <= query.map(1) < 7.001
    assert (query >> noise).map(1) <= 0.5
    release = PrivateRelease(1.0, 4)
    for _ in range(4):
        release.count(10)
    assert release.spent <= 1.0
    with pytest.raises(RuntimeError):
        release.count(10)
