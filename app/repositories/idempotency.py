"""Queries on remembered idempotent answers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from app.models import IdempotencyRecord, ResponseSession
from app.repositories import responses


def get(session: Session, key_hash: str) -> IdempotencyRecord | None:
    return session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.key_hash == key_hash)
    ).first()


def add_unless_taken(session: Session, *rows: SQLModel) -> bool:
    """Insert ``rows`` (the record and whatever it answers for) in one savepoint; False, with
    nothing inserted, when a concurrent request took the same key first."""
    for row in rows:
        if isinstance(row, ResponseSession):
            responses.keep_layout(session, row)  # shared content, outside the savepoint
    try:
        with session.begin_nested():
            for row in rows:  # in the order given, so foreign keys are satisfied
                session.add(row)
                session.flush()
    except IntegrityError:
        return False
    return True


def delete_older_than(session: Session, cutoff: dt.datetime) -> int:
    statement = delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    return session.exec(statement).rowcount or 0
