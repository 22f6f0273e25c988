"""Exports never hold the responses in memory: ten times the responses, about the same peak.

Measured with tracemalloc (Python allocations of the whole process, the test client's thread
included), not with a clock. The benchmark (``make bench``) measures the process's resident
memory and time at up to a million responses.
"""

from __future__ import annotations

import datetime as dt
import random
import tracemalloc

from fastapi.testclient import TestClient
from research_support import QUESTIONNAIRE, Respondent, copy_rows, export, insert, new_key, ok

from scoring.catalog import Catalog

MEGABYTE = 1024 * 1024
DISTINCT = 200
"""Respondents stored through the submission service; the rest are copies of their rows."""


def varied_respondents(catalog: Catalog, count: int) -> list[Respondent]:
    """Random answers (so most answer sets differ), at most two skipped per dimension."""
    definition = catalog.definitions[QUESTIONNAIRE].definition
    rng = random.Random(count)
    moment = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    people = []
    for index in range(count):
        answers: dict[str, int] = {}
        for dimension in ("anxiety", "avoidance", "disorganization"):
            items = definition.items_of(dimension)
            skipped = set(rng.sample([item.id for item in items], rng.choice([0, 0, 1, 2])))
            answers.update({item.id: rng.randint(1, 7) for item in items if item.id not in skipped})
        people.append(
            Respondent(
                answers,
                study=rng.choice(["a", "b", "c"]),
                submitted_at=moment + dt.timedelta(minutes=index),
            )
        )
    return people


def peak_while(client: TestClient, key: str, endpoint: str) -> int:
    tracemalloc.start()
    try:
        ok(
            export(client, endpoint, key, group_by="study")
            if endpoint == "summary"
            else export(client, endpoint, key)
        )
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_ten_times_the_responses_take_about_the_same_memory(
    research_client: TestClient, catalog: Catalog
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    key = new_key(engine)
    stored = insert(engine, catalog, varied_respondents(catalog, DISTINCT))
    copy_rows(engine, stored, 2_000 // DISTINCT - 1)
    for endpoint in ("summary", "histograms", "items"):
        peak_while(research_client, key, endpoint)  # warm caches first
    small = {e: peak_while(research_client, key, e) for e in ("summary", "histograms", "items")}
    copy_rows(engine, stored, 18_000 // DISTINCT)
    assert ok(export(research_client, "summary", key))["n"] == 20_000
    large = {e: peak_while(research_client, key, e) for e in ("summary", "histograms", "items")}
    for endpoint in small:
        growth = large[endpoint] - small[endpoint]
        assert growth < 3 * MEGABYTE, f"{endpoint}: {small[endpoint]} -> {large[endpoint]} bytes"
