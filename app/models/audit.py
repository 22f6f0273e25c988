"""The audit log of research calls: one row for every call, served or refused.

It records who (the key's id; none when no valid key was sent), what (endpoint, filters,
privacy mode, epsilon), when, the outcome (the HTTP status: 200, or 401, 403, 404, 422, 429,
500), and for an export served how many responses it covered (the true N, which the export
itself may withhold) and how many values were withheld. It holds no answers and nothing about
any one respondent; a refused call carries no data at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer
from sqlmodel import Field, SQLModel


class ExportAudit(SQLModel, table=True):
    __tablename__ = "research_export_audit"

    id: int | None = Field(default=None, primary_key=True)
    researcher_key_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("researcher_key.id"), nullable=True, index=True),
    )
    endpoint: str = Field(max_length=32)
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    privacy: str = Field(max_length=16)
    epsilon: float | None = Field(default=None)
    n: int | None = Field(default=None)
    cells_suppressed: int
    outcome: int = Field(default=200, sa_column_kwargs={"server_default": "200"})
    """The HTTP status the call was answered with."""
    created_at: dt.datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
