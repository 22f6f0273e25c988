"""What every research use case needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.services.context import ServiceContext


@dataclass(frozen=True, slots=True)
class ResearchContext(ServiceContext):
    """``session`` reads (an export's statistics, the key, the quota); ``writer``, when
    given, takes what an export writes (its audit entry, a privacy-budget charge), so that the
    reading never holds the database's write lock. Both commit before the answer is sent."""

    writer: Session | None = None

    @property
    def writes(self) -> Session:
        return self.session if self.writer is None else self.writer
