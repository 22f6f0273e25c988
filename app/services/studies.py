"""The study registry: which studies exist, how each may be released, and who may join one.

The operator registers a study (``securebase studies add CODE``). Its public code is what
researchers name in exports; its enrolment code, random and printed when the study is added,
is what an enrolment link carries (``/?study=<enrolment code>``) and what a client sends as
``study`` when it starts a response. Knowing a study's public code therefore does not let
anyone add responses to it, and a code that names no registered study is refused by the API
and ignored by the web client. A study's exports are ``exact`` (suppressed counts and
statistics) or ``dp-only`` (released only through ``privacy=dp``).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from dataclasses import dataclass

from sqlmodel import Session

from app.errors import Conflict, FieldProblem, InvalidInput, NotFound
from app.models import Study, StudyExports
from app.repositories import research_studies
from app.repositories.research_studies import DailyActivity

STUDY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
ENROLMENT_CODE_LENGTH = 20
_ALPHABET = string.ascii_letters + string.digits
UNREGISTERED = "not the enrolment code of a registered study"


def new_enrolment_code() -> str:
    """20 letters and digits (about 119 random bits): valid wherever a study code is."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(ENROLMENT_CODE_LENGTH))


def add_study(session: Session, code: str, exports: str, now: dt.datetime) -> Study:
    """Register a study; its enrolment code is new and random."""
    problems = []
    if not STUDY_CODE.fullmatch(code):
        problems.append(FieldProblem("code", f"{code!r} is not a study code"))
    if exports not in {e.value for e in StudyExports}:
        problems.append(FieldProblem("exports", "must be exact or dp-only"))
    if problems:
        raise InvalidInput("The study cannot be added.", problems)
    if research_studies.get(session, code) is not None:
        raise Conflict(f"Study {code!r} is already registered.")
    study = Study(code=code, enrolment_code=new_enrolment_code(), exports=exports, created_at=now)
    return research_studies.add(session, study)


def list_studies(session: Session) -> list[Study]:
    return research_studies.all_studies(session)


@dataclass(frozen=True, slots=True)
class StudyReport:
    study: Study
    days: list[DailyActivity]


def show(session: Session, code: str) -> StudyReport:
    study = research_studies.get(session, code)
    if study is None:
        raise NotFound(f"No registered study {code!r}.")
    return StudyReport(study, research_studies.daily_activity(session, code))


def resolve_study(session: Session, enrolment_code: str | None) -> str | None:
    """The public code of the study ``enrolment_code`` enrols in (None for none); an
    unregistered code is refused with 422 naming ``study``."""
    if enrolment_code is None:
        return None
    study = research_studies.by_enrolment_code(session, enrolment_code)
    if study is None:
        raise InvalidInput("Unknown study.", [FieldProblem("study", UNREGISTERED)])
    return study.code


def enrolment_code_or_none(session: Session, code: str | None) -> str | None:
    """``code`` when it is a registered study's enrolment code, else None: what the web client
    keeps from an enrolment link (anything else is ignored)."""
    if code is None or not STUDY_CODE.fullmatch(code):
        return None
    return code if research_studies.by_enrolment_code(session, code) is not None else None


def is_dp_only(session: Session, code: str) -> bool:
    study = research_studies.get(session, code)
    return study is not None and study.exports == StudyExports.dp_only.value


def dp_only_studies(session: Session) -> tuple[str, ...]:
    return tuple(research_studies.dp_only_codes(session))
