"""Erasure on request: DELETE removes the response and everything derived from it, for good."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import API, anxious_answers, bearer, create, row_counts
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from study_registry import register

from app.config import Settings

STUDY = "ERASEMEstudy123"


def rows_for(database_url: str, response_id: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            params = {"id": response_id}
            return {
                "response_session": connection.execute(
                    text("SELECT count(*) FROM response_session WHERE id = :id"), params
                ).scalar_one(),
                "idempotency_record": connection.execute(
                    text("SELECT count(*) FROM idempotency_record WHERE response_id = :id"), params
                ).scalar_one(),
            }
    finally:
        engine.dispose()


@pytest.fixture
def submitted(client: TestClient) -> dict[str, Any]:
    """A submitted response, created with an Idempotency-Key, in a study with a distinctive
    code (the registry keeps the study; the response's own copy of its code goes with it)."""
    enrolment = register(client.app.state.engine, STUDY)  # type: ignore[attr-defined]
    created = create(
        client,
        answers=anxious_answers(),
        study=enrolment,
        consent={"research": True},
        headers={"Idempotency-Key": "erasure-test-key-0001"},
    )
    submit = client.post(
        f"{API}/responses/{created['response_id']}/submit", headers=bearer(created["token"])
    )
    assert submit.status_code == 200, submit.text
    return {**created, "enrolment": enrolment}


def test_delete_erases_the_response_and_its_idempotency_records(
    client: TestClient, database_url: str, submitted: dict[str, Any]
) -> None:
    response_id, token = submitted["response_id"], submitted["token"]
    untouched = create(client, answers={"anx01": 3})
    assert rows_for(database_url, response_id) == {"response_session": 1, "idempotency_record": 1}
    before = row_counts(database_url)

    erased = client.delete(f"{API}/responses/{response_id}", headers=bearer(token))
    assert erased.status_code == 204
    assert erased.content == b""

    assert rows_for(database_url, response_id) == {"response_session": 0, "idempotency_record": 0}
    assert row_counts(database_url) == {
        "response_session": before["response_session"] - 1,
        "idempotency_record": before["idempotency_record"] - 1,
    }
    other = client.get(
        f"{API}/responses/{untouched['response_id']}", headers=bearer(untouched["token"])
    )
    assert other.status_code == 200


def test_after_erasure_every_call_is_404_like_an_unknown_id(
    client: TestClient, submitted: dict[str, Any]
) -> None:
    response_id, headers = submitted["response_id"], bearer(submitted["token"])
    assert client.delete(f"{API}/responses/{response_id}", headers=headers).status_code == 204
    unknown = client.get(f"{API}/responses/NoSuchResponse0000000A", headers=headers)
    assert unknown.status_code == 404
    after = [
        client.get(f"{API}/responses/{response_id}", headers=headers),
        client.put(
            f"{API}/responses/{response_id}/answers",
            json={"answers": {"anx01": 1}},
            headers=headers,
        ),
        client.post(f"{API}/responses/{response_id}/submit", headers=headers),
        client.delete(f"{API}/responses/{response_id}", headers=headers),
    ]
    for response in after:
        assert response.status_code == 404, response.text
        assert response.content == unknown.content


def test_a_retry_of_the_original_create_after_erasure_does_not_resurrect_it(
    client: TestClient, database_url: str, submitted: dict[str, Any]
) -> None:
    """The remembered answer went with the response: the same key now starts a new one."""
    response_id, headers = submitted["response_id"], bearer(submitted["token"])
    assert client.delete(f"{API}/responses/{response_id}", headers=headers).status_code == 204
    retry = client.post(
        f"{API}/responses",
        json={
            "questionnaire_id": "attachment-self-reflection",
            "answers": anxious_answers(),
            "study": submitted["enrolment"],
            "consent": {"research": True},
        },
        headers={"Idempotency-Key": "erasure-test-key-0001"},
    )
    assert retry.status_code == 201, retry.text
    assert retry.json()["response_id"] != response_id
    assert client.get(f"{API}/responses/{response_id}", headers=headers).status_code == 404


def sqlite_files(settings: Settings) -> tuple[Path, list[Path]]:
    database = Path(str(make_url(settings.database_url).database))
    return database, [database, database.with_name(database.name + "-wal")]


def checkpoint(database: Path) -> None:
    """Move everything from the write-ahead log into the database file and empty the log."""
    connection = sqlite3.connect(database)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        connection.close()


def on_disk(files: list[Path], needle: bytes) -> list[str]:
    return [path.name for path in files if path.exists() and needle in path.read_bytes()]


def test_erased_answers_are_overwritten_on_disk(
    client: TestClient, settings: Settings, submitted: dict[str, Any]
) -> None:
    if not settings.is_sqlite:
        pytest.skip("file-level check of SQLite's secure_delete")
    database, files = sqlite_files(settings)
    # The answers as stored (one byte per item; the item ids are in the shared layout).
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        answers = connection.execute(
            text("SELECT answers FROM response_session WHERE id = :id"),
            {"id": submitted["response_id"]},
        ).scalar_one()
    engine.dispose()
    needles = [bytes(answers), submitted["response_id"].encode()]
    checkpoint(database)
    # The check can fail: before erasure the values are in the file.
    for needle in needles:
        assert on_disk(files, needle) == [database.name], needle

    erased = client.delete(
        f"{API}/responses/{submitted['response_id']}", headers=bearer(submitted["token"])
    )
    assert erased.status_code == 204
    checkpoint(database)
    leftovers = {needle: on_disk(files, needle) for needle in needles}
    assert all(where == [] for where in leftovers.values()), leftovers
