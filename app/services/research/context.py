"""What every research use case needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from app.config import Settings
from scoring.catalog import Catalog


@dataclass(frozen=True, slots=True)
class ResearchContext:
    """``session`` reads (an export's statistics, the key, the quota); ``writer``, when
    given, takes what an export writes (its audit entry, a privacy-budget charge), so that the
    reading never holds the database's write lock. Both commit before the answer is sent."""

    session: Session
    catalog: Catalog
    settings: Settings
    writer: Session | None = None

    @property
    def writes(self) -> Session:
        return self.session if self.writer is None else self.writer

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
