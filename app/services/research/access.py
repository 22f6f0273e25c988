"""Researcher keys: created, listed and revoked by the operator; checked on every export.

A key is ``sbr_`` followed by 256 random bits, printed once when it is created; only its
SHA-256 digest is stored. A key sees the studies it was created for, or every study (and the
responses without a study) when it was created without any.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from app.errors import FieldProblem, InvalidInput, NotFound
from app.models import ResearcherKey
from app.repositories import research_keys
from app.security import digest, new_token, token_matches

KEY_PREFIX = "sbr_"
STUDY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Researcher:
    """The holder of a valid key, as far as an export needs to know."""

    key_id: int
    name: str
    studies: tuple[str, ...] | None
    """``None``: every study."""

    def may_see(self, study: str) -> bool:
        return self.studies is None or study in self.studies


def create_key(
    session: Session, name: str, studies: Sequence[str], now: dt.datetime
) -> tuple[ResearcherKey, str]:
    """A new key for ``name``, scoped to ``studies`` (none: every study); the key is returned
    once and never stored."""
    name = name.strip()
    problems = []
    if not 1 <= len(name) <= 100:
        problems.append(FieldProblem("name", "must be 1 to 100 characters"))
    for study in studies:
        if not STUDY_CODE.fullmatch(study):
            problems.append(FieldProblem("study", f"{study!r} is not a study code"))
    if problems:
        raise InvalidInput("The key cannot be created.", problems)
    key = KEY_PREFIX + new_token()
    record = ResearcherKey(
        name=name,
        key_hash=digest(key),
        all_studies=not studies,
        studies=sorted(set(studies)),
        created_at=now,
    )
    return research_keys.add(session, record), key


def authenticate(session: Session, presented: str | None) -> Researcher | None:
    """The researcher behind a key; None for a missing, unknown or revoked key."""
    if not presented or not presented.startswith(KEY_PREFIX):
        return None
    record = research_keys.by_hash(session, digest(presented))
    if record is None or record.id is None or not token_matches(presented, record.key_hash):
        return None
    if record.revoked_at is not None:
        return None
    studies = None if record.all_studies else tuple(record.studies)
    return Researcher(key_id=record.id, name=record.name, studies=studies)


def list_keys(session: Session) -> list[ResearcherKey]:
    return research_keys.all_keys(session)


def revoke(session: Session, key_id: int, now: dt.datetime) -> ResearcherKey:
    """Revoke a key (again: no change); it stays listed and in the audit log."""
    record = research_keys.get(session, key_id)
    if record is None:
        raise NotFound(f"No researcher key with id {key_id}.")
    if record.revoked_at is None:
        record.revoked_at = now
        session.add(record)
    return record
