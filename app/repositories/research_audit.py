"""Queries on the research export audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import ExportAudit, ResearcherKey

TOO_MANY_REQUESTS = 429


def add(session: Session, entry: ExportAudit) -> None:
    session.add(entry)
    session.flush()


def latest(session: Session, limit: int) -> list[tuple[ExportAudit, ResearcherKey | None]]:
    """The newest ``limit`` entries with their keys (None: no valid key), oldest first."""
    statement = (
        select(ExportAudit, ResearcherKey)
        .outerjoin(ResearcherKey, col(ResearcherKey.id) == col(ExportAudit.researcher_key_id))
        .order_by(col(ExportAudit.id).desc())
        .limit(limit)
    )
    return list(reversed(list(session.exec(statement))))


def exports_since(
    session: Session, key_id: int, since: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """How many calls the key has made from ``since`` on, served or refused (except those
    refused for being over the limit, so that waiting as told is enough), and when the first
    of them was."""
    statement = select(func.count(), func.min(col(ExportAudit.created_at))).where(
        col(ExportAudit.researcher_key_id) == key_id,
        col(ExportAudit.created_at) >= since,
        col(ExportAudit.outcome) != TOO_MANY_REQUESTS,
    )
    count, first = session.exec(statement).one()
    return int(count), first
