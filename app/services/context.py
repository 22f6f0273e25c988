"""What every use case is given: the unit of work (the request's session, committed or rolled
back by the caller, never by a service), the catalog of questionnaires and the settings.

Each family of use cases extends it with what only it needs: the responses' context adds the
expiry of an unfinished response, the research context a separate session for writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from app.config import Settings
from scoring.catalog import Catalog


@dataclass(frozen=True, slots=True)
class ServiceContext:
    session: Session
    catalog: Catalog
    settings: Settings

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
