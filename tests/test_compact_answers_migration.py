"""Migration 0006: answers and digests stored compactly, and back.

Responses stored before 0006 kept their answers as JSON and their digests as hex text; after
the upgrade the API returns exactly the answers, the content hash and the research copy they
had (also for a questionnaire version that is no longer loaded), their token still opens
them, and the downgrade puts every value back as it was. Each test starts from an empty
database on each backend (the fixtures of ``tests/test_migrations.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import test_migrations
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text

from app import migrations
from app.config import Settings
from app.main import create_app
from app.security import digest
from scoring import answer_copy
from scoring.catalog import Catalog

QUESTIONNAIRE = "attachment-self-reflection"
OLDER_HASH = "sha256:" + "0" * 64
AT = "2026-11-01 10:00:00"

empty_database_url = test_migrations.empty_database_url
engine = test_migrations.engine


def _before(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """Rows as 0005 stored them: answers in the order they were given, a wellbeing answer
    of 0 (the lowest place of its scale), items skipped, and an older version's answers
    (one item that version asked and the loaded one does not)."""
    loaded = catalog.definitions[QUESTIONNAIRE]
    items = [item.id for item in loaded.definition.items]
    everything = {item: 1 + index % 7 for index, item in enumerate(reversed(items))}
    return {
        "submitted": {
            "hash": loaded.content_hash,
            "status": "submitted",
            "consent": True,
            "answers": {"wb_now": 0, "wb_life": 3, **everything},
        },
        "unfinished": {
            "hash": loaded.content_hash,
            "status": "in_progress",
            "consent": False,
            "answers": {items[5]: 7, items[0]: 1},
        },
        "empty": {
            "hash": loaded.content_hash,
            "status": "in_progress",
            "consent": False,
            "answers": {},
        },
        "older": {
            "hash": OLDER_HASH,
            "status": "in_progress",
            "consent": True,
            "answers": {items[1]: 2, "retired01": -3, "wb_now": 1},
        },
    }


@pytest.fixture
def stored_before(
    empty_database_url: str, engine: Engine, catalog: Catalog
) -> dict[str, dict[str, Any]]:
    migrations.upgrade(empty_database_url, "0005")
    rows = _before(catalog)
    with engine.begin() as connection:
        for name, row in rows.items():
            copy = row["answers"] if row["consent"] and row["status"] == "submitted" else None
            research = (
                answer_copy.encode(catalog.definitions[QUESTIONNAIRE].definition, copy)
                if copy is not None
                else None
            )
            row["research"] = research
            connection.execute(
                text(
                    "INSERT INTO response_session (id, token_hash, questionnaire_id, "
                    "questionnaire_version, questionnaire_hash, language, research_consent, "
                    "status, answers, research_answers, crisis_items, created_at, updated_at, "
                    "expires_at) VALUES (:id, :token, :questionnaire, '1.0.0', :hash, 'en', "
                    ":consent, :status, :answers, :research, '[]', :at, :at, :expires)"
                ),
                {
                    "id": f"{name}-response",
                    "token": digest(f"{name}-token"),
                    "questionnaire": QUESTIONNAIRE,
                    "hash": row["hash"],
                    "consent": row["consent"],
                    "status": row["status"],
                    "answers": json.dumps(row["answers"]),
                    "research": research,
                    "at": AT,
                    "expires": None if row["status"] == "submitted" else "2999-01-01 00:00:00",
                },
            )
    return rows


def _columns(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, token_hash, questionnaire_hash, answers, research_answers "
                "FROM response_session"
            )
        ).all()
    return {
        ident.removesuffix("-response"): {
            "token": token,
            "hash": content_hash,
            "answers": answers if isinstance(answers, dict) else json.loads(answers),
            "research": None if research is None else bytes(research),
        }
        for ident, token, content_hash, answers, research in rows
    }


def test_upgrading_keeps_every_answer_hash_and_token_and_downgrading_restores_them(
    empty_database_url: str,
    engine: Engine,
    catalog: Catalog,
    stored_before: dict[str, dict[str, Any]],
) -> None:
    migrations.upgrade(empty_database_url)
    with engine.connect() as connection:
        types = {
            c["name"]: str(c["type"]) for c in inspect(connection).get_columns("response_session")
        }
        stored = dict(connection.execute(text("SELECT id, answers FROM response_session")).all())
    assert "JSON" not in types["answers"].upper()
    assert len(bytes(stored["submitted-response"])) == 27 + 5, "one byte per item"

    app = create_app(Settings(environment="test", database_url=empty_database_url), catalog)
    with TestClient(app) as client:
        for name, row in stored_before.items():
            response = client.get(
                f"/api/v1/responses/{name}-response",
                headers={"Authorization": f"Bearer {name}-token"},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["answers"] == row["answers"]
            assert body["questionnaire"]["hash"] == row["hash"]
        # An unfinished response goes on as before: answers added, then submitted.
        headers = {"Authorization": "Bearer unfinished-token"}
        everything = {item.id: 4 for item in catalog.definitions[QUESTIONNAIRE].definition.items}
        saved = client.put(
            "/api/v1/responses/unfinished-response/answers",
            json={"answers": {**everything, "wb_life": 0}},
            headers=headers,
        )
        assert saved.status_code == 200, saved.text
        submitted = client.post("/api/v1/responses/unfinished-response/submit", headers=headers)
        assert submitted.status_code == 200, submitted.text
        read = client.get("/api/v1/responses/unfinished-response", headers=headers).json()
        assert read["answers"] == {**everything, "wb_life": 0}
        stored_before["unfinished"]["answers"] = read["answers"]
        # Answers saved under an older version keep even the items the loaded one no longer
        # asks; submitting them is refused as before, with nothing lost.
        headers = {"Authorization": "Bearer older-token"}
        more = client.put(
            "/api/v1/responses/older-response/answers",
            json={"answers": {"wb_life": 2}},
            headers=headers,
        )
        assert more.status_code == 200, more.text
        older = client.get("/api/v1/responses/older-response", headers=headers).json()
        assert older["answers"] == {**stored_before["older"]["answers"], "wb_life": 2}
        refused = client.post("/api/v1/responses/older-response/submit", headers=headers)
        assert refused.status_code == 409, refused.text
        stored_before["older"]["answers"] = older["answers"]
    app.state.engine.dispose()

    migrations.downgrade(empty_database_url, "0005")
    restored = _columns(engine)
    for name, row in stored_before.items():
        assert restored[name]["answers"] == row["answers"], name
        assert restored[name]["hash"] == row["hash"], name
        assert restored[name]["token"] == digest(f"{name}-token"), name
    assert restored["submitted"]["research"] == stored_before["submitted"]["research"]
