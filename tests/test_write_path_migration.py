"""Migration 0005: stored result documents are split into shared content and back.

Responses submitted before 0005 kept their whole result document; after the upgrade they
keep numbers and a frame, and the API returns exactly the result they were given. The
downgrade puts every document back as it was. Each test starts from an empty database on
each backend (the fixtures of ``tests/test_migrations.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import test_migrations
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text

from app import migrations
from app.config import Settings
from app.main import create_app
from app.security import digest
from scoring.catalog import Catalog
from scoring.engine import score
from scoring.result import compose_result
from scoring.risk import assess_risk

QUESTIONNAIRE = "attachment-self-reflection"
PROFILES = {
    "middle": 4,
    "low": 1,
    "high": 7,
}


def _documents(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """What 0004 stored for each profile: the result without its notice and help footer."""
    loaded = catalog.definitions[QUESTIONNAIRE]
    definition = loaded.definition
    documents = {}
    for name, value in PROFILES.items():
        answers = {item.id: value for item in definition.items}
        result = compose_result(
            definition=definition,
            definition_hash=loaded.content_hash,
            scoring=score(definition, answers),
            risk=assess_risk(definition, answers),
            language="en",
            country=None,
            content=catalog.content,
            crisis=catalog.crisis,
        )
        documents[name] = result.model_dump(mode="json", exclude={"crisis", "help"})
    return documents


empty_database_url = test_migrations.empty_database_url
engine = test_migrations.engine


@pytest.fixture
def stored_before(
    empty_database_url: str, engine: Engine, catalog: Catalog
) -> dict[str, dict[str, Any]]:
    """Responses submitted at 0004, each with its whole document; their token is the id."""
    migrations.upgrade(empty_database_url, "0004")
    documents = _documents(catalog)
    loaded = catalog.definitions[QUESTIONNAIRE]
    with engine.begin() as connection:
        for name, document in documents.items():
            answers = {item.id: PROFILES[name] for item in loaded.definition.items}
            connection.execute(
                text(
                    "INSERT INTO response_session (id, token_hash, questionnaire_id, "
                    "questionnaire_version, questionnaire_hash, language, research_consent, "
                    "status, answers, scores, primary_tendency, crisis_items, created_at, "
                    "updated_at, submitted_at) VALUES (:id, :token, :questionnaire, '1.0.0', "
                    ":hash, 'en', false, 'submitted', :answers, :scores, :primary, '[]', "
                    ":at, :at, :at)"
                ),
                {
                    "id": f"{name}-response-0000000",
                    "token": digest(f"{name}-token-000000000000"),
                    "questionnaire": QUESTIONNAIRE,
                    "hash": loaded.content_hash,
                    "answers": json.dumps(answers),
                    "scores": json.dumps(document),
                    "primary": document["primary_tendency"],
                    "at": "2026-11-01 10:00:00",
                },
            )
    return documents


def _stored_documents(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, scores FROM response_session")).all()
    return {
        ident.split("-")[0]: value if isinstance(value, dict) else json.loads(value)
        for ident, value in rows
    }


def test_upgrading_keeps_every_stored_result_exactly_and_downgrading_restores_it(
    empty_database_url: str,
    engine: Engine,
    catalog: Catalog,
    stored_before: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    migrations.upgrade(empty_database_url)
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("response_session")}
        shared = connection.execute(text("SELECT count(*) FROM result_content")).scalar_one()
    assert "scores" not in columns
    assert shared > 0

    app = create_app(Settings(environment="test", database_url=empty_database_url), catalog)
    with TestClient(app) as client:
        for name, document in stored_before.items():
            response = client.get(
                f"/api/v1/responses/{name}-response-0000000",
                headers={"Authorization": f"Bearer {name}-token-000000000000"},
            )
            assert response.status_code == 200, response.text
            result = response.json()["result"]
            assert {k: v for k, v in result.items() if k not in ("crisis", "help")} == document
            # A response submitted now with the same answers shares the stored content.
            answers = {
                item.id: PROFILES[name]
                for item in catalog.definitions[QUESTIONNAIRE].definition.items
            }
            fresh = client.post(
                "/api/v1/responses",
                json={
                    "questionnaire_id": QUESTIONNAIRE,
                    "answers": answers,
                    "submit": True,
                    "lang": "en",
                },
            )
            assert fresh.status_code == 201, fresh.text
            assert json.dumps(fresh.json()["result"]) == json.dumps(result)
    app.state.engine.dispose()
    with engine.connect() as connection:
        after = connection.execute(text("SELECT count(*) FROM result_content")).scalar_one()
    assert after == shared, "the same words are not stored twice"

    migrations.downgrade(empty_database_url, "0004")
    restored = _stored_documents(engine)
    for name, document in stored_before.items():
        assert restored[name] == document
    assert "result_content" not in inspect(engine).get_table_names()
