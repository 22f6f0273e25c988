"""Queries on response sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.models import ResponseSession, ResponseStatus
from app.repositories import research_studies


def get(session: Session, response_id: str, *, for_update: bool = False) -> ResponseSession | None:
    statement = select(ResponseSession).where(ResponseSession.id == response_id)
    if for_update:
        statement = statement.with_for_update()
    return session.exec(statement).first()


def add(session: Session, response: ResponseSession) -> None:
    session.add(response)


def erase(session: Session, response: ResponseSession) -> None:
    """Delete the response; its idempotency records go with it (ON DELETE CASCADE). A
    submitted response of a study counts in the study's erasures of the day (no id kept)."""
    if response.study is not None and response.status == ResponseStatus.submitted.value:
        research_studies.count_erasure(session, response.study, dt.datetime.now(dt.UTC).date())
    session.delete(response)
    session.flush()


def delete_expired_incomplete(session: Session, now: dt.datetime) -> int:
    statement = (
        delete(ResponseSession)
        .where(col(ResponseSession.status) == ResponseStatus.in_progress.value)
        .where(col(ResponseSession.expires_at) < now)
    )
    return session.exec(statement).rowcount or 0
