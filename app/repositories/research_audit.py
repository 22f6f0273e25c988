"""Queries on the research export audit log."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.models import ExportAudit, ResearcherKey


def add(session: Session, entry: ExportAudit) -> None:
    session.add(entry)
    session.flush()


def latest(session: Session, limit: int) -> list[tuple[ExportAudit, ResearcherKey]]:
    """The newest ``limit`` entries with their keys, oldest first."""
    statement = (
        select(ExportAudit, ResearcherKey)
        .join(ResearcherKey, col(ResearcherKey.id) == col(ExportAudit.researcher_key_id))
        .order_by(col(ExportAudit.id).desc())
        .limit(limit)
    )
    return list(reversed(list(session.exec(statement))))
