"""The database engine and the request's unit of work.

SQLite is set up for a web server: write-ahead logging so readers never wait for a writer,
``synchronous=FULL`` so that a committed transaction is on disk before the commit returns (a
2xx survives a power failure, not only a killed process), a busy timeout so concurrent
writers queue instead of failing, foreign keys enforced, and ``secure_delete`` so erased
answers are overwritten on disk, not just unlinked.

Two kinds of transaction:

- **Writes** (:func:`session_scope`) take SQLite's write lock at ``BEGIN IMMEDIATE``, so two
  writers queue on the busy timeout instead of one failing at its first write.
- **Reads** (:func:`read_session_scope`, :func:`read_only`) begin deferred and run with
  ``PRAGMA query_only``: in WAL mode they read a snapshot and never take or wait for the write
  lock, so an export, a GET or a readiness check cannot hold up a respondent's submission.
  On PostgreSQL they run as ``REPEATABLE READ, READ ONLY`` transactions, so every statement of
  one export reads the same snapshot. A read transaction that tries to write fails at once
  instead of quietly taking the lock.

PostgreSQL gets a pooled engine that checks connections before use, with
``SECUREBASE_DB_POOL_SIZE`` connections kept open: by default as many as the worker's thread
pool runs requests at once (40), so a busy worker never opens and closes connections per
request. A few more may be opened for a moment at a peak.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.config import Settings

READ_ONLY = "securebase_read_only"
"""The execution option that marks an engine (or connection) as read-only."""
_QUERY_ONLY = "securebase_query_only"
POOL_OVERFLOW = 10
SQLITE_BUSY_SECONDS = 15
_HOLDS_TURN = "securebase_holds_writer_turn"
"""Connections PostgreSQL may open beyond the pool for a moment (closed when returned)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # The busy timeout first: even reading the journal mode can meet another process's lock
    # (a checkpoint, a connection closing), and a new connection must wait for it as long as
    # any write would, not fail its request.
    for pragma in (
        f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}",
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA secure_delete=ON",
        "PRAGMA synchronous=FULL",
    ):
        cursor.execute(pragma)
    cursor.close()


class _WriterTurn:
    """One write transaction at a time per process, handed over the moment it ends.

    SQLite lets one writer in at a time anyway; without this, the others retry on the busy
    timeout, whose sleeps grow to 100 ms, so a writer often sleeps on after the lock is
    free. Waiting here instead, the next writer starts as soon as the last one has
    committed and given its connection back. Other processes (workers, the command line)
    still meet at SQLite's own lock. Waiting is bounded: after ``busy_seconds`` the
    transaction goes on to SQLite's busy timeout.
    """

    def __init__(self, busy_seconds: float) -> None:
        self._lock = threading.Lock()
        self._busy_seconds = busy_seconds

    def begin(self, conn: Connection) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        # query_only is a property of the connection; set it only when it changes.
        if conn.info.get(_QUERY_ONLY, False) != read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            conn.info[_QUERY_ONLY] = read_only
        if read_only:
            conn.exec_driver_sql("BEGIN")  # deferred: a snapshot, no lock
            return
        # Writes take the write lock at BEGIN, so two writers queue instead of one failing
        # at its first write ("database is locked" after a read-to-write upgrade).
        if conn.info.get(_HOLDS_TURN) is not self and self._lock.acquire(
            timeout=self._busy_seconds
        ):
            conn.info[_HOLDS_TURN] = self
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.release(conn.info)
            raise

    def release(self, info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_TURN, None) is self:
            self._lock.release()

    def on_checkin(self, _dbapi_connection: object, record: Any) -> None:
        # The turn ends when the connection goes back to the pool: after its commit has
        # returned (the commit event comes before the commit), or after any other ending.
        self.release(record.info)


def create_db_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        pool: dict[str, int] = {}
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # As many connections as the worker's threads, so none waits for one. (An
            # in-memory database is one connection per thread, pooled its own way.)
            pool = {"pool_size": settings.db_pool_size, "max_overflow": POOL_OVERFLOW}
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "isolation_level": None,
                # The driver's own wait, before the pragmas run: the same as theirs.
                "timeout": SQLITE_BUSY_SECONDS,
            },
            **pool,
        )
        turn = _WriterTurn(SQLITE_BUSY_SECONDS)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", turn.begin)
        event.listen(engine.pool, "checkin", turn.on_checkin)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=POOL_OVERFLOW,
    )


_READ_ONLY_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read (see the module's text)."""
    found = _READ_ONLY_ENGINES.get(engine)
    if found is None:
        options: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            # One snapshot for the whole transaction, as SQLite gives: an export's counts,
            # margins and scores must all describe the same rows while submissions arrive.
            options["postgresql_readonly"] = True
            options["isolation_level"] = "REPEATABLE READ"
        found = _READ_ONLY_ENGINES[engine] = engine.execution_options(**options)
    return found


def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def read_session_scope(engine: Engine) -> Iterator[Session]:
    """A read-only transaction for one request: it sees one snapshot and never takes the
    write lock; it is ended when the handler returns."""
    with Session(read_only(engine), expire_on_commit=False, autoflush=False) as session:
        try:
            yield session
        finally:
            session.rollback()
