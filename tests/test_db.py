"""Durability, and reads that never hold up a write.

An acknowledged write must be on disk (SQLite ``synchronous=FULL``); an export, a GET or a
readiness check must never take or wait for the write lock, so that a respondent's
submission is never queued behind someone reading.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

import app.repositories.research_data as research_data
from app.config import Settings
from app.db import create_db_engine, read_session_scope, session_scope
from app.services.research.access import create_key

QUESTIONNAIRE = "attachment-self-reflection"
ANSWERS = {
    f"{prefix}{n:02d}": 1 + (n % 7) for prefix in ("anx", "avo", "dis") for n in range(1, 10)
}


def _first(scope: Iterator[Session]) -> Session:
    return next(scope)


def _finish(scope: Iterator[Session]) -> None:
    """End a session scope as a handler that returns does: committed."""
    assert next(scope, None) is None


def test_sqlite_commits_reach_the_disk_before_they_return(settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("a SQLite setting")
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            synchronous = session.execute(text("PRAGMA synchronous")).scalar_one()
            journal = session.execute(text("PRAGMA journal_mode")).scalar_one()
    finally:
        engine.dispose()
    assert (journal, synchronous) == ("wal", 2)  # 2 is FULL: fsync at every commit


def test_a_read_only_session_cannot_write(settings: Settings) -> None:
    engine = create_db_engine(settings)
    scope = read_session_scope(engine)
    session = _first(scope)
    try:
        with pytest.raises(DBAPIError):
            session.execute(text("DELETE FROM idempotency_record"))
    finally:
        scope.close()
        engine.dispose()


def test_an_open_read_does_not_keep_a_writer_waiting(settings: Settings) -> None:
    engine = create_db_engine(settings)
    reading = read_session_scope(engine)
    reader = _first(reading)
    try:
        reader.execute(text("SELECT count(*) FROM response_session")).scalar_one()
        # The read transaction is still open; a write on another connection must not wait.
        writing = session_scope(engine)
        writer = _first(writing)
        writer.execute(text("DELETE FROM idempotency_record"))
        finished = threading.Event()

        def commit() -> None:
            _finish(writing)
            finished.set()

        thread = threading.Thread(target=commit)
        thread.start()
        committed = finished.wait(timeout=5)
        reading.close()
        thread.join()
        assert committed, "the writer waited for a reader"
    finally:
        engine.dispose()


def test_readiness_answers_while_a_writer_holds_the_lock(
    settings: Settings, client: TestClient
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite's database-wide write lock")
    path = make_url(settings.database_url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        answered = client.get("/readyz")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answered.status_code == 200, answered.text


def _submit(client: TestClient) -> Any:
    return client.post(
        "/api/v1/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": ANSWERS,
            "submit": True,
            "consent": {"research": True},
        },
    )


def test_a_submission_goes_through_while_an_export_is_reading(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export stops in the middle of its reading until a submission has been answered;
    if its reading held the write lock, the submission would wait for it and fail."""
    assert _submit(client).status_code == 201
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        _, key = create_key(session, "Reader", (), dt.datetime.now(dt.UTC))
        session.commit()
    reading, release = threading.Event(), threading.Event()
    original = research_data.response_counts

    def paused(*args: Any, **kwargs: Any) -> Any:
        reading.set()
        release.wait(timeout=30)
        return original(*args, **kwargs)

    monkeypatch.setattr(research_data, "response_counts", paused)
    exported: dict[str, Any] = {}

    def export() -> None:
        exported["response"] = client.get(
            "/api/v1/research/summary",
            params={"questionnaire_id": QUESTIONNAIRE},
            headers={"Authorization": f"Bearer {key}"},
        )

    thread = threading.Thread(target=export)
    thread.start()
    try:
        assert reading.wait(timeout=30), "the export never started reading"
        submitted = _submit(client)
    finally:
        release.set()
        thread.join(timeout=60)
    assert submitted.status_code == 201, submitted.text
    assert exported["response"].status_code == 200, exported["response"].text
    assert exported["response"].json()["n"] in (1, None)  # what it read: one, or withheld


def test_an_export_reads_one_snapshot_while_submissions_arrive(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission that lands between an export's first count and the rest of its reading
    is in none of its numbers (before, PostgreSQL counted it in some and not in others,
    which broke the export with a 500)."""
    for _ in range(12):
        assert _submit(client).status_code == 201
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        _, key = create_key(session, "Reader", (), dt.datetime.now(dt.UTC))
        session.commit()
    counted, release = threading.Event(), threading.Event()
    original = research_data.response_counts

    def count_then_pause(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        if not counted.is_set():
            counted.set()
            release.wait(timeout=30)
        return found

    monkeypatch.setattr(research_data, "response_counts", count_then_pause)
    exported: dict[str, Any] = {}

    def export() -> None:
        exported["response"] = client.get(
            "/api/v1/research/summary",
            params={"questionnaire_id": QUESTIONNAIRE},
            headers={"Authorization": f"Bearer {key}"},
        )

    thread = threading.Thread(target=export)
    thread.start()
    try:
        assert counted.wait(timeout=30), "the export never counted"
        late = _submit(client)
    finally:
        release.set()
        thread.join(timeout=60)
    assert late.status_code == 201, late.text
    answered = exported["response"]
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["n"] == 12
    assert {name: d["n"] for name, d in body["dimensions"].items()} == dict.fromkeys(
        body["dimensions"], 12
    )


def _write_in_thread(engine: Any, statement: str, seconds: float = 5) -> bool:
    """Run one write transaction in another thread; whether it finished in time."""
    finished = threading.Event()

    def write() -> None:
        scope = session_scope(engine)
        _first(scope).execute(text(statement))
        _finish(scope)
        finished.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return finished.wait(timeout=seconds)


def test_many_writers_at_once_all_commit(settings: Settings) -> None:
    engine = create_db_engine(settings)
    try:
        scope = session_scope(engine)
        _first(scope).execute(text("CREATE TABLE bench_writes (n INTEGER)"))
        _finish(scope)
        threads = [
            threading.Thread(
                target=_write_in_thread,
                args=(engine, "INSERT INTO bench_writes VALUES (1)", 60),
            )
            for _ in range(40)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with Session(engine) as session:
            count = session.execute(text("SELECT count(*) FROM bench_writes")).scalar_one()
            session.execute(text("DROP TABLE bench_writes"))
            session.commit()
    finally:
        engine.dispose()
    assert count == 40


def test_a_failed_write_does_not_keep_the_next_one_waiting(settings: Settings) -> None:
    """However a write transaction ends (an error, a rollback, a bare connection), the next
    writer goes ahead at once."""
    engine = create_db_engine(settings)
    try:
        scope = session_scope(engine)
        _first(scope).execute(text("DELETE FROM idempotency_record"))
        with pytest.raises(RuntimeError):
            scope.throw(RuntimeError("the handler failed"))
        assert _write_in_thread(engine, "DELETE FROM idempotency_record")
        with engine.connect() as connection:
            connection.execute(text("DELETE FROM idempotency_record"))
            # left without commit: returned to the pool and rolled back
        assert _write_in_thread(engine, "DELETE FROM idempotency_record")
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM idempotency_record"))
        assert _write_in_thread(engine, "DELETE FROM idempotency_record")
    finally:
        engine.dispose()
