"""Small shared helpers for the API tests: answer sets, requests and database checks."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import create_engine, inspect, text

from app.metrics import exposition

QUESTIONNAIRE = "attachment-self-reflection"
API = "/api/v1"
ATTACHMENT_ITEMS = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]
WELLBEING_ITEMS = ["wb_life", "wb_selfharm", "wb_substance", "wb_overwhelmed", "wb_now"]
PROBLEM_JSON = "application/problem+json"


def complete_answers(value: int = 4) -> dict[str, int]:
    """Every attachment item answered with ``value``."""
    return dict.fromkeys(ATTACHMENT_ITEMS, value)


def anxious_answers() -> dict[str, int]:
    """A complete set that scores high on anxiety only (reverse-keyed items answered low)."""
    answers = complete_answers(2)
    answers.update({f"anx{n:02d}": 7 for n in range(1, 10)})
    answers.update(anx03=1, anx07=1, avo02=6, avo05=6, avo08=6, dis04=6, dis08=6)
    return answers


def notices_counted() -> float:
    """The crisis notices counted so far, as the metrics exposition shows them to operators."""
    text, _media_type = exposition()
    prefix = "securebase_crisis_notices_total"
    lines = [line for line in text.decode().splitlines() if line.startswith(prefix)]
    return sum(float(line.split()[-1]) for line in lines)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    """Start a response (201 expected) and return the JSON body."""
    headers = fields.pop("headers", None)
    body = {"questionnaire_id": QUESTIONNAIRE, **fields}
    response = client.post(f"{API}/responses", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_problem(response: Response, status: int, *items: str) -> dict[str, Any]:
    """An RFC 9457 body with the given status; each of ``items`` named under ``errors``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("type"), str)
    assert body["type"]
    assert isinstance(body.get("title"), str)
    assert body["title"]
    assert body.get("status") == status
    assert isinstance(body.get("detail"), str)
    assert body["detail"]
    if items:
        named = {error["item"] for error in body.get("errors", [])}
        for item in items:
            assert item in named, f"{item!r} not among errors {body.get('errors')}"
        for error in body["errors"]:
            assert isinstance(error["message"], str)
            assert error["message"]
    return body


def row_counts(database_url: str) -> dict[str, int]:
    """Rows in each table, read directly from the database (not through the API)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            counts: dict[str, int] = {}
            for table in ("response_session", "idempotency_record"):
                query = text(f"SELECT count(*) FROM {table}")  # noqa: S608
                counts[table] = int(connection.execute(query).scalar_one())
            return counts
    finally:
        engine.dispose()


def all_cells(database_url: str) -> list[tuple[str, str, object]]:
    """(table, column, value) for every column of every row of every table."""
    engine = create_engine(database_url)
    try:
        cells: list[tuple[str, str, object]] = []
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                result = connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
                columns = list(result.keys())
                for row in result:
                    cells += [
                        (table, column, value) for column, value in zip(columns, row, strict=True)
                    ]
        return cells
    finally:
        engine.dispose()


def cell_contains(value: object, needle: str) -> bool:
    """Whether a stored value holds ``needle``, whatever its type (text, bytes, JSON)."""
    if value is None:
        return False
    if isinstance(value, bytes | bytearray | memoryview):
        return needle.encode() in bytes(value)
    return needle in str(value)
