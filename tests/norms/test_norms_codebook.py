"""The research codebook documents the norms release and its separate budget."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from norms_support import QUESTIONNAIRE
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine
from app.main import create_app
from app.services.research.access import create_key
from scoring.catalog import Catalog


def test_the_codebook_states_the_norms_release_and_budget(
    database_url: str, catalog: Catalog
) -> None:
    settings = Settings(environment="test", database_url=database_url, norms_total_epsilon=0.5)
    engine = create_db_engine(settings)
    with Session(engine) as session:
        _, key = create_key(session, "Codebook reader", (), dt.datetime.now(dt.UTC))
        session.commit()
    engine.dispose()
    app = create_app(settings, catalog)
    with TestClient(app) as http:
        response = http.get(
            "/api/v1/research/codebook",
            params={"questionnaire_id": QUESTIONNAIRE},
            headers={"Authorization": f"Bearer {key}"},
        )
    app.state.engine.dispose()
    assert response.status_code == 200, response.text
    privacy = response.json()["privacy"]
    assert privacy["norms_total_epsilon_per_questionnaire"] == 0.5
    assert "norms:<questionnaire id>" in privacy["norms"]
    assert "apart from every study's budget" in privacy["norms"]
