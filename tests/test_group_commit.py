"""Group commit: concurrent submissions share transactions, and each one is stored, once.

The writer (``app.services.writer``) runs every write waiting at the moment in one
transaction. These tests count the transactions a backend commits while many submissions
arrive at once, check that every acknowledged submission is stored, and that one request's
failure (a reused Idempotency-Key, an error in its write) does not fail its neighbours.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, func
from sqlmodel import Session, select

from app.config import Settings
from app.db import READ_ONLY, create_db_engine
from app.main import create_app
from app.models import IdempotencyRecord, ResponseSession, ResponseStatus
from app.repositories import idempotency as idempotency_repo
from app.repositories import responses as responses_repo
from app.services import saved_submissions
from app.services.writer import GroupWriter, writer_for
from scoring.catalog import Catalog
from tests.api.helpers import API, QUESTIONNAIRE, complete_answers

SUBMISSIONS = 48


def count_commits(engine: Engine, disk_seconds: float = 0.0) -> list[int]:
    """The number of write transactions committed from now on (read-only ones not counted),
    each taking at least ``disk_seconds`` longer, as on a disk that flushes slowly."""
    commits = [0]

    def counted(connection: Connection) -> None:
        if not connection.get_execution_options().get(READ_ONLY, False):
            commits[0] += 1
            time.sleep(disk_seconds)

    event.listen(engine, "commit", counted)
    return commits


def count_inserts(engine: Engine) -> Counter[str]:
    """INSERT statements sent to the database from now on, by table (one executemany of
    many rows counts once)."""
    inserts: Counter[str] = Counter()

    def counted(*args: Any) -> None:
        statement = str(args[2])
        if statement.startswith("INSERT INTO "):
            inserts[statement.split()[2]] += 1

    event.listen(engine, "before_cursor_execute", counted)
    return inserts


def stored(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


async def post_all(app: Any, bodies: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await asyncio.gather(
            *(http.post(f"{API}/responses", json=body, headers=headers) for body, headers in bodies)
        )


def submission(value: int) -> dict[str, Any]:
    return {"questionnaire_id": QUESTIONNAIRE, "answers": complete_answers(value), "submit": True}


def test_concurrent_submissions_share_commits_and_are_all_stored(
    settings: Settings, catalog: Catalog
) -> None:
    app = create_app(settings, catalog)
    engine: Engine = app.state.engine
    # Each commit takes 5 ms, as a flush to a disk without a write cache does: the next group
    # gathers meanwhile. (Where commits take next to nothing, a writer that keeps up with the
    # requests stores most of them alone, and that is right: nobody waits for anyone.)
    commits = count_commits(engine, disk_seconds=0.005)
    inserts = count_inserts(engine)
    bodies = [
        (submission(1 + n % 7), {"Idempotency-Key": str(uuid.uuid4())}) for n in range(SUBMISSIONS)
    ]

    replies = asyncio.run(post_all(app, bodies))

    assert [reply.status_code for reply in replies] == [201] * SUBMISSIONS
    assert all(reply.json()["result"] is not None for reply in replies)
    assert stored(engine, ResponseSession) == SUBMISSIONS
    assert stored(engine, IdempotencyRecord) == SUBMISSIONS
    # Far fewer transactions than submissions: they were committed in groups, and each
    # group's rows went in with one statement per table.
    assert commits[0] < SUBMISSIONS / 2, commits[0]
    assert inserts["response_session"] == commits[0], (inserts, commits[0])
    assert inserts["idempotency_record"] == commits[0], (inserts, commits[0])
    engine.dispose()


def test_a_reused_key_in_a_group_fails_only_its_own_request(
    settings: Settings, catalog: Catalog
) -> None:
    app = create_app(settings, catalog)
    engine: Engine = app.state.engine
    reused = {"Idempotency-Key": str(uuid.uuid4())}
    bodies = [(submission(1 + n % 7), {"Idempotency-Key": str(uuid.uuid4())}) for n in range(20)]
    # The same key twice with different answers: the second must be refused (422), and the
    # same key with the same request answered as the first; nobody else is affected.
    bodies[5] = (submission(2), reused)
    bodies[6] = (submission(3), reused)
    bodies[7] = (submission(2), reused)

    replies = asyncio.run(post_all(app, bodies))

    codes = [reply.status_code for reply in replies]
    assert codes[6] == 422, replies[6].text
    assert "Idempotency-Key" in replies[6].text
    assert codes[:6] + codes[7:] == [201] * 19
    assert replies[7].json() == replies[5].json()
    assert stored(engine, ResponseSession) == 18  # twenty requests, one refused, one replayed
    engine.dispose()


def test_a_failing_write_does_not_fail_its_group(settings: Settings) -> None:
    app = create_app(settings)
    engine: Engine = app.state.engine
    writer = GroupWriter(engine)
    commits = count_commits(engine)
    first_running = threading.Event()
    release_first = threading.Event()

    def add(response_id: str, then: Callable[[], None] = lambda: None) -> Callable[[Session], str]:
        def write(session: Session) -> str:
            session.add(row(response_id))
            session.flush()
            then()
            return response_id

        return write

    def hold() -> None:
        first_running.set()
        release_first.wait(10)

    def fail() -> None:
        raise RuntimeError("this request's write failed")

    async def main() -> list[Any]:
        # The first write holds the writer until the rest are queued: they form one group.
        first = asyncio.ensure_future(writer.run(add("r-first", hold)))
        await asyncio.to_thread(first_running.wait, 10)
        rest = [
            asyncio.ensure_future(writer.run(add(f"r-{n}", fail if n == 4 else lambda: None)))
            for n in range(10)
        ]
        await asyncio.sleep(0.05)
        release_first.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(main())

    failed = outcomes[1 + 4]
    assert isinstance(failed, RuntimeError)
    assert [o for n, o in enumerate(outcomes) if n != 5] == ["r-first"] + [
        f"r-{n}" for n in range(10) if n != 4
    ]
    with Session(engine) as session:
        ids = set(session.exec(select(ResponseSession.id)).all())
    assert ids == {"r-first", *(f"r-{n}" for n in range(10) if n != 4)}
    # The first alone, the group of ten rolled back once and committed without the failure.
    assert commits[0] == 2, commits[0]
    engine.dispose()


def row(response_id: str) -> ResponseSession:
    """An unfinished response with fixed values: what a write stores in these tests."""
    now = dt.datetime.now(dt.UTC)
    return ResponseSession(
        id=response_id,
        token_hash="0" * 64,
        questionnaire_id=QUESTIONNAIRE,
        questionnaire_version="1",
        questionnaire_hash="0" * 64,
        language="en",
        status=ResponseStatus.in_progress.value,
        answers=b"",  # no answers: nothing is read back with a layout here
        answer_layout=0,
        created_at=now,
        updated_at=now,
        expires_at=now + dt.timedelta(days=1),
    )


def test_a_new_sqlite_connection_waits_for_a_lock_longer_than_the_drivers_default(
    tmp_path: Path,
) -> None:
    """A worker's new connection sets its pragmas while another process may hold the
    database; it must wait for the lock as long as a write would (15 s), not fail the
    request after the driver's default of 5 s."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE kept (n INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")  # rollback-journal mode: nobody else may even read
    holder.execute("INSERT INTO kept VALUES (1)")
    releaser = threading.Timer(6.0, lambda: holder.execute("COMMIT"))
    releaser.start()
    engine = create_db_engine(Settings(environment="test", database_url=f"sqlite:///{path}"))
    try:
        with engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        assert mode == "wal"
    finally:
        releaser.join()
        holder.close()
        engine.dispose()


async def submit_saved(app: Any, started: list[dict[str, Any]]) -> list[Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await asyncio.gather(
            *(
                http.post(
                    f"{API}/responses/{one['response_id']}/submit",
                    headers={"Authorization": f"Bearer {one['token']}"},
                )
                for one in started
            )
        )


def start_unsubmitted(app: Any, count: int, value: int = 4) -> list[dict[str, Any]]:
    body = {"questionnaire_id": QUESTIONNAIRE, "answers": complete_answers(value)}
    replies = asyncio.run(post_all(app, [(body, {})] * count))
    assert [reply.status_code for reply in replies] == [201] * count
    return [reply.json() for reply in replies]


def test_saved_responses_submitted_at_once_share_commits(
    settings: Settings, catalog: Catalog
) -> None:
    app = create_app(settings, catalog)
    engine: Engine = app.state.engine
    started = start_unsubmitted(app, 32)
    commits = count_commits(engine)

    replies = asyncio.run(submit_saved(app, started))

    assert [reply.status_code for reply in replies] == [200] * 32
    with Session(engine) as session:
        statuses = session.exec(select(ResponseSession.status)).all()
    assert statuses == ["submitted"] * 32
    assert commits[0] < 16, commits[0]
    engine.dispose()


def test_a_response_changed_after_its_snapshot_is_scored_from_what_is_stored(
    settings: Settings, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request scores a snapshot; if the answers change before the writer stores the
    result, the stored and returned result are those of the answers now stored."""
    app = create_app(settings, catalog)
    engine: Engine = app.state.engine
    (started,) = start_unsubmitted(app, 1, value=2)
    scored_from_snapshot = saved_submissions._prepare_submit

    def snapshot_then_change(*args: Any) -> Any:
        prepared = scored_from_snapshot(*args)
        with Session(engine) as session:
            row = session.get(ResponseSession, started["response_id"])
            assert row is not None
            definition = catalog.definitions[QUESTIONNAIRE].definition
            responses_repo.write_answers(session, row, definition, complete_answers(6))
            session.add(row)
            session.commit()
        return prepared

    monkeypatch.setattr(saved_submissions, "_prepare_submit", snapshot_then_change)
    (reply,) = asyncio.run(submit_saved(app, [started]))

    assert reply.status_code == 200, reply.text
    expected = asyncio.run(post_all(app, [(submission(6), {})]))[0].json()["result"]
    assert reply.json()["result"]["scores"] == expected["scores"]
    with TestClient(app) as http:
        stored = http.get(
            f"{API}/responses/{started['response_id']}",
            headers={"Authorization": f"Bearer {started['token']}"},
        ).json()
    assert stored["result"]["scores"] == expected["scores"]
    engine.dispose()


def test_when_a_groups_commit_fails_each_write_is_tried_alone(settings: Settings) -> None:
    app = create_app(settings)
    engine: Engine = app.state.engine
    writer = GroupWriter(engine)
    first_running = threading.Event()
    release_first = threading.Event()
    commits = [0]

    def refuse_the_second_commit(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            return
        commits[0] += 1
        if commits[0] == 2:  # the first is the held write's, alone; the second is the group's
            raise RuntimeError("the disk refused the commit")

    def add(response_id: str, hold: bool = False) -> Callable[[Session], str]:
        def write(session: Session) -> str:
            session.add(row(response_id))
            session.flush()
            if hold:
                first_running.set()
                release_first.wait(10)
            return response_id

        return write

    async def main() -> list[Any]:
        first = asyncio.ensure_future(writer.run(add("r-first", hold=True)))
        await asyncio.to_thread(first_running.wait, 10)
        event.listen(engine, "commit", refuse_the_second_commit)
        rest = [asyncio.ensure_future(writer.run(add(f"r-{n}"))) for n in range(5)]
        await asyncio.sleep(0.05)
        release_first.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(main())

    # The group of five failed to commit; each retried alone, every write is stored.
    assert outcomes == ["r-first", *(f"r-{n}" for n in range(5))]
    assert commits[0] == 1 + 1 + 5
    with Session(engine) as session:
        assert len(session.exec(select(ResponseSession.id)).all()) == 6
    engine.dispose()


def test_writes_stored_together_answer_each_and_refuse_only_their_own(settings: Settings) -> None:
    app = create_app(settings)
    engine: Engine = app.state.engine
    writer = GroupWriter(engine)
    commits = count_commits(engine)
    first_running = threading.Event()
    release_first = threading.Event()
    calls: list[list[str]] = []

    def hold(session: Session) -> str:
        session.add(row("r-held"))
        session.flush()
        first_running.set()
        release_first.wait(10)
        return "held"

    def store(session: Session, ids: Sequence[str]) -> list[str | Exception]:
        calls.append(list(ids))
        kept = [i for i in ids if i != "r-refused"]
        session.add_all(row(i) for i in kept)
        session.flush()
        return [LookupError(i) if i == "r-refused" else i for i in ids]

    async def main() -> list[Any]:
        first = asyncio.ensure_future(writer.run(hold))
        await asyncio.to_thread(first_running.wait, 10)
        ids = ["r-1", "r-refused", "r-2", "r-3"]
        rest = [asyncio.ensure_future(writer.run_together(store, i)) for i in ids]
        await asyncio.sleep(0.05)
        release_first.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(main())

    assert outcomes[:2] + outcomes[3:] == ["held", "r-1", "r-2", "r-3"]
    assert isinstance(outcomes[2], LookupError)
    assert calls == [["r-1", "r-refused", "r-2", "r-3"]]  # one call for the whole group
    with Session(engine) as session:
        stored_ids = set(session.exec(select(ResponseSession.id)).all())
    assert stored_ids == {"r-held", "r-1", "r-2", "r-3"}
    assert commits[0] == 2, commits[0]  # the held write alone, then the group at once
    engine.dispose()


def test_writes_stored_together_that_fail_together_are_each_tried_alone(
    settings: Settings,
) -> None:
    app = create_app(settings)
    engine: Engine = app.state.engine
    writer = GroupWriter(engine)
    first_running = threading.Event()
    release_first = threading.Event()

    def hold(session: Session) -> str:
        first_running.set()
        release_first.wait(10)
        return "held"

    def store(session: Session, ids: Sequence[str]) -> list[str | Exception]:
        session.add_all(row(i) for i in ids)
        session.flush()
        if "r-bad" in ids:
            raise RuntimeError("one of these rows cannot be stored")
        return list(ids)

    async def main() -> list[Any]:
        first = asyncio.ensure_future(writer.run(hold))
        await asyncio.to_thread(first_running.wait, 10)
        ids = ["r-1", "r-bad", "r-2"]
        rest = [asyncio.ensure_future(writer.run_together(store, i)) for i in ids]
        await asyncio.sleep(0.05)
        release_first.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(main())

    assert outcomes[:2] + outcomes[3:] == ["held", "r-1", "r-2"]
    assert isinstance(outcomes[2], RuntimeError)
    with Session(engine) as session:
        assert set(session.exec(select(ResponseSession.id)).all()) == {"r-1", "r-2"}
    engine.dispose()


def test_a_key_taken_after_the_check_is_answered_as_its_first_request(
    settings: Settings, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process may store a key between this writer's check and its INSERT: the
    group's statement fails, each write is stored alone, and the request with the taken key
    is answered as the first was (or refused, if it asked something else)."""
    app = create_app(settings, catalog)
    engine: Engine = app.state.engine
    taken = {"Idempotency-Key": str(uuid.uuid4())}
    (first,) = asyncio.run(post_all(app, [(submission(3), taken)]))
    assert first.status_code == 201
    # From now on the check finds nothing, as if the first had not committed yet.
    monkeypatch.setattr(idempotency_repo, "found", lambda session, keys: {})
    others = [(submission(1 + n % 7), {"Idempotency-Key": str(uuid.uuid4())}) for n in range(8)]
    count_commits(engine, disk_seconds=0.005)  # so that they gather in groups

    replies = asyncio.run(post_all(app, [*others, (submission(3), taken), (submission(4), taken)]))

    assert [reply.status_code for reply in replies] == [201] * 9 + [422]
    assert replies[8].content == first.content
    assert stored(engine, ResponseSession) == 9
    engine.dispose()


def test_a_response_submitted_at_once_is_stored_as_one_saved_then_submitted(
    settings: Settings, catalog: Catalog
) -> None:
    """Two paths write a submitted response: plain values for a new one, the ORM for a
    saved one. Both store the same columns for the same answers."""
    app = create_app(settings, catalog)
    engine: Engine = app.state.engine
    body = {**submission(5), "consent": {"research": True}, "country": "GB", "lang": "en"}
    (at_once,) = asyncio.run(post_all(app, [(body, {})]))
    (saved,) = asyncio.run(post_all(app, [({**body, "submit": False}, {})]))
    (submitted,) = asyncio.run(submit_saved(app, [saved.json()]))
    assert at_once.status_code == 201
    assert submitted.status_code == 200
    assert submitted.json()["result"] == at_once.json()["result"]
    varying = {"id", "token_hash", "created_at", "updated_at", "submitted_at"}
    with Session(engine) as session:
        rows = [
            session.get(ResponseSession, reply.json()["response_id"]) for reply in (at_once, saved)
        ]
        first, second = ({**r.model_dump()} for r in rows if r is not None)
    assert first["research_answers"] is not None
    assert first["result_frame"] is not None
    assert {k: v for k, v in first.items() if k not in varying} == {
        k: v for k, v in second.items() if k not in varying
    }
    engine.dispose()


def test_a_key_used_twice_in_one_group_is_stored_once(settings: Settings, catalog: Catalog) -> None:
    """The second use of a key in the same group is answered as the first (the same request)
    or refused (another request), without writing; the group's other writes are stored."""
    app = create_app(settings, catalog)
    engine: Engine = app.state.engine
    writer = writer_for(engine)
    held = threading.Event()
    release = threading.Event()
    key = {"Idempotency-Key": str(uuid.uuid4())}

    def hold(session: Session) -> None:
        held.set()
        release.wait(10)

    async def main() -> list[Any]:
        holding = asyncio.ensure_future(writer.run(hold))
        await asyncio.to_thread(held.wait, 10)
        posting = asyncio.ensure_future(
            post_all(app, [(submission(3), key), (submission(3), key), (submission(4), key)])
        )
        for _ in range(1000):  # until all three wait behind the held write
            if writer._queue.qsize() == 3:
                break
            await asyncio.sleep(0.01)
        commits = count_commits(engine)
        release.set()
        await holding
        replies = await posting
        assert commits[0] == 1, commits[0]  # the three in one transaction
        return replies

    first, again, other = asyncio.run(main())

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.content == first.content
    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.text
    assert stored(engine, ResponseSession) == 1
    assert stored(engine, IdempotencyRecord) == 1
    engine.dispose()
