"""A researcher's access key to the aggregated research exports.

The key itself is shown once, when it is created, and stored only as its SHA-256 digest (keys
are 256 random bits, so a fast hash is enough). A key is scoped to a list of studies, or to all
studies; it is never deleted, only revoked, so the audit log can always name it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


class ResearcherKey(SQLModel, table=True):
    __tablename__ = "researcher_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    all_studies: bool = Field(default=False)
    studies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
