"""Queries on remembered idempotent answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.models import IdempotencyRecord


def get(session: Session, key_hash: str) -> IdempotencyRecord | None:
    return session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.key_hash == key_hash)
    ).first()


_TABLE = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)
_FOUND = sa_select(_TABLE).where(_TABLE.c.key_hash.in_(bindparam("keys", expanding=True)))


def found(session: Session, key_hashes: Collection[str]) -> dict[str, IdempotencyRecord]:
    """The records of these keys that are stored, by key hash (a plain query: most keys are
    new, and only a record found becomes an object)."""
    rows = session.connection().execute(_FOUND, {"keys": list(key_hashes)}).mappings()
    return {row["key_hash"]: IdempotencyRecord(**row) for row in rows}


def insert_new(session: Session, records: Sequence[Mapping[str, Any]]) -> None:
    """Insert records given as the values of every column, in one statement (their keys are
    not stored yet: a taken key fails the whole statement)."""
    session.connection().execute(_INSERT, list(records))


def delete_older_than(session: Session, cutoff: dt.datetime) -> int:
    statement = delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    return session.exec(statement).rowcount or 0
