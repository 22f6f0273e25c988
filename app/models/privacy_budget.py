"""The differential-privacy budget ledger: how much epsilon each study has spent.

Every differentially private release adds its epsilon to its study's row (the release itself is
in the audit log with the same epsilon). A release that would take a study past its total
(``SECUREBASE_DP_TOTAL_EPSILON``) is refused. The row is locked while a release is charged, so
concurrent releases cannot overspend together.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class PrivacyBudget(SQLModel, table=True):
    __tablename__ = "privacy_budget"

    study: str = Field(primary_key=True, max_length=64)
    epsilon_spent: float = Field(default=0.0)
    releases: int = Field(default=0)
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
