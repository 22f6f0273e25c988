"""Which responses an export covers: consent, submission, erasure, the questionnaire version,
and time only at the resolution of a week or a month."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi.testclient import TestClient
from research_support import (
    QUESTIONNAIRE,
    Respondent,
    export,
    insert,
    new_key,
    ok,
)
from sqlmodel import Session
from study_registry import register

from app.repositories import research_studies
from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}
ELEVATED = {**ANSWERS, **{f"anx{n:02d}": 7 for n in range(1, 10)}, "anx03": 1, "anx07": 1}


def alpha_enrolment(client: TestClient) -> str:
    """The enrolment code of study alpha, registered the first time it is asked for."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        study = research_studies.get(session, "alpha")
        if study is not None:
            return study.enrolment_code
    return register(engine, "alpha")


def submit(
    client: TestClient, research: bool, answers: dict[str, int] | None = None
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": answers or ANSWERS,
            "submit": True,
            "consent": {"research": research},
            "study": alpha_enrolment(client),
        },
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_only_submitted_responses_with_research_consent_count(
    research_client: TestClient, catalog: Catalog
) -> None:
    for _ in range(14):
        submit(research_client, research=True)
    for _ in range(9):
        submit(research_client, research=False)
    started = research_client.post(
        "/api/v1/responses",
        json={"questionnaire_id": QUESTIONNAIRE, "answers": ANSWERS, "consent": {"research": True}},
    )
    assert started.status_code == 201
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]

    body = ok(export(research_client, "summary", key))
    assert body["n"] == 14
    assert body["dimensions"]["anxiety"]["n"] == 14
    assert ok(export(research_client, "items", key))["items"]["anx01"]["n"] == 14
    assert ok(export(research_client, "histograms", key))["dimensions"]["anxiety"]["n"] == 14


def test_an_erased_response_is_gone_from_every_later_export(research_client: TestClient) -> None:
    created = [submit(research_client, research=True) for _ in range(12)]
    created.append(submit(research_client, research=True, answers=ELEVATED))
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]
    before = ok(export(research_client, "summary", key))
    assert before["n"] == 13
    assert before["dimensions"]["anxiety"]["max"] == 7.0

    erased = created[-1]
    response = research_client.delete(
        f"/api/v1/responses/{erased['response_id']}",
        headers={"Authorization": f"Bearer {erased['token']}"},
    )
    assert response.status_code == 204

    after = ok(export(research_client, "summary", key))
    assert after["n"] == 12
    assert after["dimensions"]["anxiety"]["max"] == 4.0
    items = ok(export(research_client, "items", key))
    assert items["items"]["anx01"]["distribution"]["7"] == 0
    assert items["n"] == 12


def test_responses_scored_with_another_version_of_the_questionnaire_are_left_out(
    research_client: TestClient, catalog: Catalog
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, [Respondent(dict(ANSWERS)) for _ in range(12)])
    insert(
        engine,
        catalog,
        [Respondent(dict(ANSWERS), extra={"questionnaire_hash": "sha256:older"}) for _ in range(5)],
    )
    body = ok(export(research_client, "summary", new_key(engine)))
    assert body["n"] == 12
    assert body["meta"]["questionnaire"]["hash"] == catalog.definitions[QUESTIONNAIRE].content_hash


def all_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [key, *all_strings(value)]]
    if isinstance(node, list):
        return [s for value in node for s in all_strings(value)]
    return [node] if isinstance(node, str) else []


def test_time_is_shown_and_filtered_only_by_whole_weeks_or_months(
    research_client: TestClient, catalog: Catalog
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    moments = {
        dt.datetime(2026, 2, 8, 23, 30, tzinfo=dt.UTC): 11,  # Sunday of ISO week 6
        dt.datetime(2026, 2, 9, 0, 30, tzinfo=dt.UTC): 12,  # Monday of ISO week 7
        dt.datetime(2026, 2, 15, 23, 0, tzinfo=dt.UTC): 13,  # Sunday of ISO week 7
        dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC): 14,  # March, ISO week 10
    }
    for moment, count in moments.items():
        insert(
            engine, catalog, [Respondent(dict(ANSWERS), submitted_at=moment) for _ in range(count)]
        )
    key = new_key(engine)

    weekly = ok(
        export(
            research_client, "summary", key, period="week", since="2026-02-11", until="2026-02-11"
        )
    )
    assert weekly["meta"]["filters"]["since"] == "2026-02-09"  # widened to the Monday
    assert weekly["meta"]["filters"]["until"] == "2026-02-15"  # and to the Sunday
    assert weekly["n"] == 25
    assert weekly["periods"]["counts"] == {"2026-W07": 25}

    monthly = ok(export(research_client, "summary", key, period="month", since="2026-02-20"))
    assert monthly["meta"]["filters"]["since"] == "2026-02-01"
    assert monthly["periods"]["counts"] == {"2026-02": 36, "2026-03": 14}

    everything = ok(export(research_client, "summary", key, period="week"))
    assert list(everything["periods"]["counts"]) == [
        "2026-W06",
        "2026-W07",
        "2026-W08",
        "2026-W09",
        "2026-W10",
    ]
    assert everything["periods"]["counts"]["2026-W08"] == 0
    # No timestamp finer than a period anywhere but the export's own generated_at.
    body = dict(everything)
    body["meta"] = {k: v for k, v in body["meta"].items() if k != "generated_at"}
    assert not [s for s in all_strings(body) if re.search(r"\d{4}-\d{2}-\d{2}T|\d{2}:\d{2}", s)]
