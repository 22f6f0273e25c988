"""The research copy of the answers, made by the service itself when a response is submitted:
whichever way someone submits, the exports see exactly the answers they gave, and nothing is
copied without their consent."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from research_support import (
    QUESTIONNAIRE,
    eligible_rows,
    export,
    new_key,
    ok,
    submit_through_api,
)
from sqlalchemy import create_engine, text

from scoring.catalog import Catalog


def answer_sets(catalog: Catalog, count: int) -> list[dict[str, int]]:
    """Varied answers, a few items skipped; each set used twice, so that with k = 2 no count
    of an answer is withheld and every statistic is published."""
    definition = catalog.definitions[QUESTIONNAIRE].definition
    rng = random.Random(11)
    sets = []
    for _ in range(count):
        answers = {item.id: rng.randint(1, 7) for item in definition.items}
        for item in rng.sample(definition.items, 2):
            del answers[item.id]
        sets.append(answers)
    return [answers for answers in sets for _ in range(2)]


def submit_in_steps(client: TestClient, answers: dict[str, int]) -> str:
    """Start with some answers, change one, add the rest, then submit."""
    ids = list(answers)
    first = {item: answers[item] for item in ids[:10]}
    first[ids[0]] = 8 - answers[ids[0]]  # answered differently at first, corrected below
    created = client.post(
        "/api/v1/responses",
        json={"questionnaire_id": QUESTIONNAIRE, "answers": first, "consent": {"research": True}},
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    rest = {item: answers[item] for item in [ids[0], *ids[10:]]}
    saved = client.put(
        f"/api/v1/responses/{body['response_id']}/answers", json={"answers": rest}, headers=auth
    )
    assert saved.status_code == 200, saved.text
    submitted = client.post(f"/api/v1/responses/{body['response_id']}/submit", headers=auth)
    assert submitted.status_code == 200, submitted.text
    response_id: str = body["response_id"]
    return response_id


def test_the_exports_see_exactly_the_answers_given_however_they_were_submitted(
    make_client: Any, catalog: Catalog, database_url: str
) -> None:
    client: TestClient = make_client(min_cell_size=2)
    given = answer_sets(catalog, 8)
    for index, answers in enumerate(given):
        if index % 2:
            submit_through_api(client, answers, research=True)
        else:
            submit_in_steps(client, answers)
    declined = submit_through_api(client, {**given[0], "anx01": 7}, research=False)
    key = new_key(client.app.state.engine)  # type: ignore[attr-defined]

    items = ok(export(client, "items", key))
    assert items["suppressed"] == []
    frame = pd.DataFrame(given)
    for item in catalog.definitions[QUESTIONNAIRE].definition.items:
        column = frame[item.id].dropna()
        exported = items["items"][item.id]
        assert exported["n"] == len(column)
        assert abs(exported["mean"] - column.mean()) < 1e-9
        assert exported["distribution"] == {
            str(point): int((column == point).sum()) for point in range(1, 8)
        }

    # The dimension scores the exports derive from the copies are the ones the scoring
    # engine stored with each result.
    stored = eligible_rows(database_url)
    summary = ok(export(client, "summary", key))
    for dimension in ("anxiety", "avoidance", "disorganization"):
        assert abs(summary["dimensions"][dimension]["mean"] - stored[dimension].mean()) < 1e-9

    engine = create_engine(database_url)
    with engine.connect() as connection:
        copy = connection.execute(
            text("SELECT research_answers FROM response_session WHERE id = :id"), {"id": declined}
        ).scalar_one()
    engine.dispose()
    assert copy is None
