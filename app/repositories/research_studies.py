"""Queries on the study registry and the daily erasure counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.models import ResponseSession, ResponseStatus, Study, StudyErasures
from app.repositories.research_sql import as_date, dialect_of, submission_day


def get(session: Session, code: str) -> Study | None:
    return session.get(Study, code)


def by_enrolment_code(session: Session, enrolment_code: str) -> Study | None:
    statement = select(Study).where(col(Study.enrolment_code) == enrolment_code)
    return session.exec(statement).first()


def add(session: Session, study: Study) -> Study:
    session.add(study)
    session.flush()
    return study


def all_studies(session: Session) -> list[Study]:
    return list(session.exec(select(Study).order_by(col(Study.code))))


def dp_only_codes(session: Session) -> list[str]:
    statement = select(Study.code).where(col(Study.exports) == "dp-only")
    return sorted(session.exec(statement))


def count_erasure(session: Session, study: str, day: dt.date) -> None:
    """Add one to the study's erasures of ``day``, atomically (concurrent erasures on one day
    each count); nothing for a study that is not registered."""
    if get(session, study) is None:
        return
    dialect = dialect_of(session.get_bind().dialect.name)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = StudyErasures.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(study=study, day=day, erased=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.study, table.c.day], set_={"erased": table.c.erased + 1}
    )
    session.execute(statement)


@dataclass(frozen=True, slots=True)
class DailyActivity:
    day: dt.date
    submitted: int
    """Responses submitted that day and still stored."""
    consented: int
    """Of those, with research consent."""
    erased: int
    """Submitted responses of the study erased that day (whenever they were submitted)."""


def daily_activity(session: Session, study: str) -> list[DailyActivity]:
    """Per day (UTC), oldest first: what was submitted to the study and what was erased."""
    dialect = dialect_of(session.get_bind().dialect.name)
    table = ResponseSession.__table__.c  # type: ignore[attr-defined]
    day = submission_day(dialect)
    submitted = session.execute(
        core_select(day, func.count(), func.count().filter(table.research_consent.is_(True)))
        .where(table.study == study, table.status == ResponseStatus.submitted.value)
        .group_by(day)
    ).all()
    erasures = StudyErasures.__table__.c  # type: ignore[attr-defined]
    erased = session.execute(
        core_select(erasures.day, erasures.erased).where(erasures.study == study)
    ).all()
    days: dict[dt.date, list[int]] = {}
    for when, count, consented in submitted:
        days.setdefault(as_date(when), [0, 0, 0])[:2] = [int(count), int(consented)]
    for when, count in erased:
        days.setdefault(as_date(when), [0, 0, 0])[2] = int(count)
    return [DailyActivity(d, *days[d]) for d in sorted(days)]
