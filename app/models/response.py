"""One anonymous response session: the answers someone gave and what they were scored as.

Deliberately absent: names, e-mail addresses, IP addresses, user agents and free text. The
secret token is stored only as its SHA-256 digest (tokens are 256 random bits, so a fast hash
is enough; there is nothing to brute-force).

Stored compactly (bench/README.md, storage): digests as their 32 bytes, answers one byte per
item, the result as references to shared content and its numbers. The indexes on study and on
expiry hold only the rows that have one (most submitted responses have neither).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Column, DateTime, Index, Integer, LargeBinary, Text, text
from sqlmodel import Field, SQLModel

from app.models.columns import ContentHash, HexDigest


class ResponseStatus(StrEnum):
    in_progress = "in_progress"
    submitted = "submitted"


class ResponseSession(SQLModel, table=True):
    __tablename__ = "response_session"
    __table_args__ = (
        Index(
            "ix_response_session_study",
            "study",
            sqlite_where=text("study IS NOT NULL"),
            postgresql_where=text("study IS NOT NULL"),
        ),
        Index(
            "ix_response_session_expires_at",
            "expires_at",
            sqlite_where=text("expires_at IS NOT NULL"),
            postgresql_where=text("expires_at IS NOT NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(sa_column=Column(HexDigest, nullable=False))
    questionnaire_id: str = Field(max_length=64)
    questionnaire_version: str = Field(max_length=32)
    questionnaire_hash: str = Field(sa_column=Column(ContentHash, nullable=False))
    language: str = Field(max_length=16)
    country: str | None = Field(default=None, max_length=2)
    study: str | None = Field(default=None, max_length=64)
    research_consent: bool = Field(default=False)
    status: str = Field(max_length=16)
    answers: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    """One byte per item of ``answer_layout`` (:func:`scoring.answer_copy.pack`); read and
    written through :mod:`app.repositories.responses`."""
    answer_layout: int | None = Field(default=None, sa_column=Column(Integer, nullable=False))
    """The ``result_content`` row holding the layout the answers are stored in: which item
    each byte stands for, shared by every response to the same questionnaire version."""
    # The result as it was scored (see app.services.stored_results): the id of its frame in
    # ``result_content`` and the numbers that fill its pieces, comma-separated. Null until
    # submitted.
    result_frame: int | None = Field(default=None)
    result_values: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    primary_tendency: str | None = Field(default=None, max_length=16)
    # The highest crisis level this session has ever indicated, and the items behind it:
    # changing an answer back does not make the notice disappear for good.
    crisis_level: str | None = Field(default=None, max_length=16)
    research_answers: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    """Set when a response with research consent is submitted: the attachment answers in the
    compact layout of :mod:`scoring.answer_copy`, which the exports read."""
    research_codes: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    """Set with ``research_answers``: each dimension's packed code, computed from the research
    copy at submission (:mod:`app.repositories.research_codes`), which the exports count."""
    crisis_items: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    submitted_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    expires_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
