"""What every research use case needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from app.config import Settings
from scoring.catalog import Catalog


@dataclass(frozen=True, slots=True)
class ResearchContext:
    session: Session
    catalog: Catalog
    settings: Settings

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
