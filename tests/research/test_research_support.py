"""The research tests' fast path stores exactly what the submission service stores."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from research_support import Respondent, copy_rows, insert, submit_through_api, table_rows
from sqlalchemy import create_engine

from scoring.catalog import Catalog

MOMENT = dt.datetime(2026, 2, 2, 9, 30, tzinfo=dt.UTC)
OWN = ("id", "token_hash", "created_at", "updated_at", "submitted_at", "expires_at")


def answers_at(level: int) -> dict[str, int]:
    return {f"{p}{n:02d}": level for p in ("anx", "avo", "dis") for n in range(1, 10)}


def test_insert_stores_what_a_submission_through_the_api_stores(
    research_client: TestClient, database_url: str, catalog: Catalog
) -> None:
    answers = {**answers_at(5), "wb_overwhelmed": 3}
    through_api = submit_through_api(research_client, answers, research=True)
    engine = create_engine(database_url)
    try:
        (inserted,) = insert(
            engine, catalog, [Respondent(answers, study=None, country=None, submitted_at=MOMENT)]
        )
    finally:
        engine.dispose()
    rows = {row["id"]: row for row in table_rows(database_url, "response_session")}
    assert {k: v for k, v in rows[inserted].items() if k not in OWN} == {
        k: v for k, v in rows[through_api].items() if k not in OWN
    }
    assert rows[inserted]["crisis_level"] == "support"
    assert rows[inserted]["research_answers"] is not None


def test_copies_hold_every_column_the_service_stored_but_their_own_id_and_token(
    database_url: str, catalog: Catalog
) -> None:
    engine = create_engine(database_url)
    try:
        people = [
            Respondent(answers_at(level), study=study, consent=consent, submitted=submitted)
            for level, study, consent, submitted in [
                (2, "alpha", True, True),
                (6, None, True, True),
                (4, "beta", False, True),
                (3, "alpha", True, False),
            ]
        ]
        people[0].answers["wb_now"] = 1  # a crisis level and the items behind it
        stored = insert(engine, catalog, people)
        assert copy_rows(engine, stored, 3) == 12
    finally:
        engine.dispose()

    rows = table_rows(database_url, "response_session")
    assert len(rows) == 16
    originals = {row["id"]: row for row in rows if row["id"] in stored}
    signature = {
        response_id: {k: v for k, v in row.items() if k not in ("id", "token_hash")}
        for response_id, row in originals.items()
    }
    copies = [row for row in rows if row["id"] not in stored]
    for copy in copies:
        rest = {k: v for k, v in copy.items() if k not in ("id", "token_hash")}
        assert rest in signature.values()
        assert copy["token_hash"] not in {row["token_hash"] for row in originals.values()}
    assert sum(1 for row in copies if row["research_answers"] is not None) == 3 * 2
    assert {row["status"] for row in copies} == {"submitted", "in_progress"}
