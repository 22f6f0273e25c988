"""Queries on remembered idempotent answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from app.models import IdempotencyRecord


def get(session: Session, key_hash: str) -> IdempotencyRecord | None:
    return session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.key_hash == key_hash)
    ).first()


def found(session: Session, key_hashes: Collection[str]) -> dict[str, IdempotencyRecord]:
    """The records of these keys that are stored, by key hash."""
    statement = select(IdempotencyRecord).where(col(IdempotencyRecord.key_hash).in_(key_hashes))
    return {record.key_hash: record for record in session.exec(statement).all()}


_INSERT = insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]


def insert_new(session: Session, records: Sequence[Mapping[str, Any]]) -> None:
    """Insert records given as the values of every column, in one statement (their keys are
    not stored yet: a taken key fails the whole statement)."""
    session.connection().execute(_INSERT, list(records))


def delete_older_than(session: Session, cutoff: dt.datetime) -> int:
    statement = delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    return session.exec(statement).rowcount or 0
