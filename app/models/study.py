"""Studies the operator has registered, and how many of their responses were erased each day.

A response can belong to a study only through the study's enrolment code, which is not the
study's public code (the one researchers name in exports and papers): knowing a study's name
is not enough to add responses to it. ``exports`` says how the study may be released:
``exact`` (suppressed counts and statistics) or ``dp-only`` (only differentially private
releases). The erasure count keeps no id and no time finer than the day: it exists so that a
burst of responses submitted and then erased (padding a study to read its small cells) shows
in ``securebase studies show``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, Date, DateTime, ForeignKey, String
from sqlmodel import Field, SQLModel


class StudyExports(StrEnum):
    exact = "exact"
    dp_only = "dp-only"


class Study(SQLModel, table=True):
    __tablename__ = "study"

    code: str = Field(primary_key=True, max_length=64)
    enrolment_code: str = Field(max_length=64, unique=True, index=True)
    exports: str = Field(max_length=16)
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StudyErasures(SQLModel, table=True):
    __tablename__ = "study_erasures"

    study: str = Field(
        sa_column=Column(String(64), ForeignKey("study.code"), primary_key=True, nullable=False)
    )
    day: dt.date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    erased: int = Field(default=0)
