"""Queries on the privacy budget ledger."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.models import PrivacyBudget


def locked(session: Session, study: str, now: dt.datetime) -> PrivacyBudget:
    """The study's ledger row, created when missing, locked until the transaction ends (on
    SQLite every write transaction already holds the database's write lock)."""
    statement = select(PrivacyBudget).where(PrivacyBudget.study == study).with_for_update()
    row = session.exec(statement).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(PrivacyBudget(study=study, epsilon_spent=0.0, releases=0, updated_at=now))
            session.flush()
    except IntegrityError:
        pass  # a concurrent release created it first
    row = session.exec(statement.execution_options(populate_existing=True)).first()
    assert row is not None
    return row


def spent(session: Session, study: str) -> float:
    row = session.exec(select(PrivacyBudget).where(PrivacyBudget.study == study)).first()
    return row.epsilon_spent if row is not None else 0.0
