"""The export audit log: one row per export served, listed by ``securebase audit``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.metrics import EXPORTS
from app.models import ExportAudit
from app.repositories import research_audit
from app.services.research.context import ResearchContext
from app.services.research.request import Coverage


def record(
    ctx: ResearchContext,
    endpoint: str,
    coverage: Coverage,
    *,
    export_format: str,
    n: int | None,
    withheld: int,
    epsilon: float | None,
) -> None:
    """Log an export (and count it in the metrics)."""
    filters: dict[str, Any] = coverage.filters().model_dump(mode="json")
    filters["format"] = export_format
    research_audit.add(
        ctx.writes,
        ExportAudit(
            researcher_key_id=coverage.researcher.key_id,
            endpoint=endpoint,
            filters=filters,
            privacy=coverage.parameters.privacy,
            epsilon=epsilon,
            n=n,
            cells_suppressed=withheld,
            created_at=ctx.now(),
        ),
    )
    EXPORTS.labels(endpoint=endpoint).inc()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    created_at: dt.datetime
    key_id: int
    key_name: str
    endpoint: str
    filters: dict[str, Any]
    privacy: str
    epsilon: float | None
    n: int | None
    cells_suppressed: int


def latest(session: Session, limit: int) -> list[AuditEntry]:
    entries = []
    for entry, key in research_audit.latest(session, limit):
        assert entry.id is not None
        assert key.id is not None
        created = entry.created_at
        entries.append(
            AuditEntry(
                id=entry.id,
                created_at=created if created.tzinfo else created.replace(tzinfo=dt.UTC),
                key_id=key.id,
                key_name=key.name,
                endpoint=entry.endpoint,
                filters=dict(entry.filters),
                privacy=entry.privacy,
                epsilon=entry.epsilon,
                n=entry.n,
                cells_suppressed=entry.cells_suppressed,
            )
        )
    return entries
