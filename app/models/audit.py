"""The audit log of research exports: one row for every export served.

It records who (the key's id), what (endpoint, filters, privacy mode, epsilon), when, how many
responses the export covered (the true N, which the export itself may withhold) and how many
values were withheld. It holds no answers and nothing about any one respondent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer
from sqlmodel import Field, SQLModel


class ExportAudit(SQLModel, table=True):
    __tablename__ = "research_export_audit"

    id: int | None = Field(default=None, primary_key=True)
    researcher_key_id: int = Field(
        sa_column=Column(Integer, ForeignKey("researcher_key.id"), nullable=False, index=True)
    )
    endpoint: str = Field(max_length=32)
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    privacy: str = Field(max_length=16)
    epsilon: float | None = Field(default=None)
    n: int | None = Field(default=None)
    cells_suppressed: int
    created_at: dt.datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
