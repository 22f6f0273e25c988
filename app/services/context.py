"""What every use case is given: the unit of work (the request's session, committed or rolled
back by the caller, never by a service), the catalog of questionnaires and the settings.

A use case that answers a refusal instead of raising it (a web page shown again, a FHIR
OperationOutcome) runs the refused step in :meth:`ServiceContext.all_or_nothing`: whatever the
step wrote is rolled back there, in one place, so the request's commit at the end stores none of it.

Each family of use cases extends it with what only it needs: the responses' context adds the
expiry of an unfinished response, the research context a separate session for writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
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

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """A step kept whole or not at all: if it raises, what the request wrote since its last
        commit is rolled back before the error goes on to be answered."""
        try:
            yield
        except BaseException:
            self.session.rollback()
            raise
