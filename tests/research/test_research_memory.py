"""Exports never hold the responses in memory: ten times the responses, about the same peak.

Measured with tracemalloc (Python allocations of the whole process, the test client's thread
included), not with a clock. The benchmark (``make bench``) measures the process's resident
memory and time at up to a million responses.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tracemalloc

from fastapi.testclient import TestClient
from research_support import QUESTIONNAIRE, export, new_key, ok
from sqlalchemy import Engine, text

from app.services.research import answer_bytes
from scoring.catalog import Catalog

ITEMS = [f"{p}{n:02d}" for p in ("anx", "avo", "dis") for n in range(1, 10)]
MEGABYTE = 1024 * 1024


def bulk_insert(engine: Engine, catalog: Catalog, start: int, count: int) -> None:
    """Varied submitted rows written directly (random answers, so most answer sets differ)."""
    loaded = catalog.definitions[QUESTIONNAIRE]
    rng = random.Random(start)
    moment = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    rows = []
    for index in range(start, start + count):
        answers = {item: rng.randint(1, 7) for item in ITEMS if rng.random() > 0.05}
        rows.append(
            {
                "id": f"bulk{index:012d}",
                "questionnaire": QUESTIONNAIRE,
                "hash": loaded.content_hash,
                "study": rng.choice(["a", "b", "c"]),
                "answers": json.dumps(answers),
                "copy": answer_bytes.encode(loaded.definition, answers),
                "primary": rng.choice(["anxious", "avoidant", "disorganized", "secure"]),
                "at": moment + dt.timedelta(minutes=index),
            }
        )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO response_session (id, token_hash, questionnaire_id, "
                "questionnaire_version, questionnaire_hash, language, country, study, "
                "research_consent, status, answers, scores, primary_tendency, crisis_level, "
                "crisis_items, created_at, updated_at, submitted_at, expires_at, research_answers) "
                "VALUES (:id, 'x', :questionnaire, '1.0.0', :hash, 'en', 'DE', :study, true, "
                "'submitted', :answers, '{}', :primary, NULL, '[]', :at, :at, :at, NULL, :copy)"
            ),
            rows,
        )


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
    bulk_insert(engine, catalog, 0, 2_000)
    for endpoint in ("summary", "histograms", "items"):
        peak_while(research_client, key, endpoint)  # warm caches first
    small = {e: peak_while(research_client, key, e) for e in ("summary", "histograms", "items")}
    bulk_insert(engine, catalog, 2_000, 18_000)
    assert ok(export(research_client, "summary", key))["n"] == 20_000
    large = {e: peak_while(research_client, key, e) for e in ("summary", "histograms", "items")}
    for endpoint in small:
        growth = large[endpoint] - small[endpoint]
        assert growth < 3 * MEGABYTE, f"{endpoint}: {small[endpoint]} -> {large[endpoint]} bytes"
