"""The research audit log: one row per research call, served or refused, listed by
``securebase audit``.

An export served is logged by the use case that served it, in its own transaction (so a
failed export leaves no row claiming it was served). A refused call (401, 403, 404, 422, 429,
500) is logged by :func:`record_refusal` in a transaction of its own, after the request's has
been rolled back: who (the key, when one was recognised), where, the parameters as sent
(shortened) and the status; never anything the export would have released.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
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


AUDITED_PARAMETERS = (
    "questionnaire_id",
    "study",
    "since",
    "until",
    "period",
    "group_by",
    "privacy",
    "epsilon",
    "format",
)
MAX_PARAMETER_LENGTH = 64


def record_refusal(
    engine: Engine,
    endpoint: str,
    key_id: int | None,
    outcome: int,
    parameters: dict[str, str],
    now: dt.datetime,
) -> None:
    """Log a refused call in a transaction of its own."""
    filters = {
        name: parameters[name][:MAX_PARAMETER_LENGTH]
        for name in AUDITED_PARAMETERS
        if name in parameters
    }
    privacy = filters.get("privacy", "suppression")
    with Session(engine) as session:
        research_audit.add(
            session,
            ExportAudit(
                researcher_key_id=key_id,
                endpoint=endpoint[:32],
                filters=filters,
                privacy=privacy if privacy in {"suppression", "dp"} else "invalid",
                epsilon=None,
                n=None,
                cells_suppressed=0,
                outcome=outcome,
                created_at=now,
            ),
        )
        session.commit()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    created_at: dt.datetime
    key_id: int | None
    key_name: str | None
    endpoint: str
    outcome: int
    filters: dict[str, Any]
    privacy: str
    epsilon: float | None
    n: int | None
    cells_suppressed: int


def latest(session: Session, limit: int) -> list[AuditEntry]:
    entries = []
    for entry, key in research_audit.latest(session, limit):
        assert entry.id is not None
        created = entry.created_at
        entries.append(
            AuditEntry(
                id=entry.id,
                created_at=created if created.tzinfo else created.replace(tzinfo=dt.UTC),
                key_id=entry.researcher_key_id,
                key_name=key.name if key is not None else None,
                endpoint=entry.endpoint,
                outcome=entry.outcome,
                filters=dict(entry.filters),
                privacy=entry.privacy,
                epsilon=entry.epsilon,
                n=entry.n,
                cells_suppressed=entry.cells_suppressed,
            )
        )
    return entries
