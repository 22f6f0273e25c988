"""New responses are stored by a pre-compiled INSERT: a row must read back exactly as
SQLAlchemy's own INSERT of the same values stores it, on every backend."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text
from sqlmodel import Session, select

from app.models import ResponseSession
from app.repositories import responses as responses_repo
from tests.api.helpers import API, QUESTIONNAIRE, complete_answers


def _values(engine: Engine, response_id: str) -> dict[str, Any]:
    """The row's values as the application reads them."""
    with Session(engine) as session:
        row = session.exec(select(ResponseSession).where(ResponseSession.id == response_id)).one()
        return row.model_dump()


def _raw(engine: Engine, response_id: str) -> dict[str, Any]:
    """The row as the database driver returns it, without any conversion by SQLAlchemy (on
    SQLite, times are text: their exact writing is compared too)."""
    with engine.connect() as connection:
        statement = text("SELECT * FROM response_session WHERE id = :id")
        row = connection.execute(statement, {"id": response_id}).mappings().one()
        return {k: v for k, v in row.items() if k not in {"id", "token_hash"}}


def test_a_stored_response_reads_back_as_sqlalchemys_insert_stores_it(client: TestClient) -> None:
    answers = {**complete_answers(), "wb_now": 1}
    created = client.post(
        f"{API}/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": answers,
            "submit": True,
            "consent": {"research": True},
        },
    )
    assert created.status_code == 201, created.text
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    response_id = created.json()["response_id"]
    stored = _values(engine, response_id)
    # Every kind of column is there: times, bytes, a JSON list, text, flags, nulls.
    assert stored["crisis_items"]
    assert stored["research_codes"]
    assert stored["submitted_at"] is not None
    assert stored["expires_at"] is None

    by_sqlalchemy = {**stored, "id": "core-insert", "token_hash": "0" * 64}
    by_writer = {**stored, "id": "fast-insert", "token_hash": "1" * 64}
    with Session(engine) as session:
        session.connection().execute(insert(ResponseSession.__table__), [by_sqlalchemy])  # type: ignore[attr-defined]
        responses_repo.insert_new(session, [by_writer])
        session.commit()

    assert _raw(engine, "fast-insert") == _raw(engine, "core-insert") == _raw(engine, response_id)
