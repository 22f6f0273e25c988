"""Registering a study for a test, as ``securebase studies add`` does."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session

from app.services.studies import add_study


def register(engine: Engine, code: str, exports: str = "exact") -> str:
    """Register study ``code``; returns its enrolment code."""
    with Session(engine) as session:
        study = add_study(session, code, exports, dt.datetime.now(dt.UTC))
        enrolment_code = study.enrolment_code
        session.commit()
    return enrolment_code
