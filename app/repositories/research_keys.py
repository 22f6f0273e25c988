"""Queries on researcher keys."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.models import ResearcherKey


def add(session: Session, key: ResearcherKey) -> ResearcherKey:
    session.add(key)
    session.flush()
    return key


def by_hash(session: Session, key_hash: str) -> ResearcherKey | None:
    return session.exec(select(ResearcherKey).where(ResearcherKey.key_hash == key_hash)).first()


def get(session: Session, key_id: int) -> ResearcherKey | None:
    return session.get(ResearcherKey, key_id)


def all_keys(session: Session) -> list[ResearcherKey]:
    return list(session.exec(select(ResearcherKey).order_by(col(ResearcherKey.id))))
