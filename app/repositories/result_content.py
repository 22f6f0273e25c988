"""Queries on ``result_content``: rows are only ever added, never changed or deleted.

What is known to be committed is remembered per engine (ids by hash, bodies by id), so the
usual submission, whose pieces were all seen before, reads and writes nothing here, and
reading a stored result costs at most two queries the first time. An id is remembered only
once the transaction that stored or found it has committed: an id from a rolled-back insert
would point at nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, Pool, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.models import ResultContent


@dataclass
class _Known:
    ids: dict[str, int] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)


_KNOWN: weakref.WeakKeyDictionary[Pool, _Known] = weakref.WeakKeyDictionary()
_READ_ONLY = "securebase_read_only"  # app.db.READ_ONLY: set on transactions that only read


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _known(session: Session) -> _Known:
    # By pool: the read-only engine shares the pool (and the database) of the writing one.
    pool = _engine(session).pool
    known = _KNOWN.get(pool)
    if known is None:
        known = _KNOWN[pool] = _Known()
    return known


def _once_committed(session: Session, remember: Callable[[], None]) -> None:
    """Run ``remember`` when what the session has seen is known to be committed: at once in
    a read-only transaction (it can see nothing uncommitted), else after its commit."""
    if _engine(session).get_execution_options().get(_READ_ONLY):
        remember()
        return

    # Any rollback first (even of a savepoint the rows were written in) and nothing is
    # remembered: the session may commit a later transaction, in which those rows are gone.
    settled = False

    def committed(_session: Session) -> None:
        nonlocal settled
        if not settled:
            settled = True
            remember()

    def rolled_back(_session: Session, _transaction: object) -> None:
        nonlocal settled
        settled = True

    event.listen(session, "after_commit", committed, once=True)
    event.listen(session, "after_soft_rollback", rolled_back, once=True)


def known_ids(session: Session) -> Mapping[str, int]:
    """The ids of rows known to be committed, by hash (a row, once committed, stays)."""
    return _known(session).ids


def keep(session: Session, contents: Sequence[tuple[str, str]]) -> list[int]:
    """The ids of ``(hash, body)`` rows, in order, storing those not stored yet (a
    concurrent writer may store the same row first: same hash, same body)."""
    known = _known(session)
    missing = {digest: body for digest, body in contents if digest not in known.ids}
    if not missing:
        return [known.ids[digest] for digest, _ in contents]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # In hash order: two transactions storing overlapping pieces take their index locks in
    # the same order on PostgreSQL, so one waits for the other instead of deadlocking.
    session.execute(
        insert(ResultContent)
        .values([{"hash": digest, "body": body} for digest, body in sorted(missing.items())])
        .on_conflict_do_nothing(index_elements=["hash"])
    )
    statement = select(ResultContent.hash, ResultContent.id).where(
        col(ResultContent.hash).in_(missing)
    )
    found = {digest: ident for digest, ident in session.exec(statement).all() if ident is not None}
    if len(found) != len(missing):  # pragma: no cover - inserted or found just above
        raise LookupError("result content was neither stored nor found")

    _once_committed(session, lambda: known.ids.update(found))
    ids = {**known.ids, **found}
    return [ids[digest] for digest, _ in contents]


def bodies(session: Session, ids: Sequence[int]) -> list[str]:
    """The bodies of these rows, in order (every id is one a stored response refers to)."""
    known = _known(session)
    wanted = set(ids) - known.bodies.keys()
    if wanted:
        statement = select(ResultContent.id, ResultContent.body).where(
            col(ResultContent.id).in_(wanted)
        )
        found = {ident: body for ident, body in session.exec(statement).all() if ident is not None}
        # Committed rows never change; what an uncommitted transaction sees might not stay.
        _once_committed(session, lambda: known.bodies.update(found))
        return [known.bodies.get(ident) or found[ident] for ident in ids]
    return [known.bodies[ident] for ident in ids]
