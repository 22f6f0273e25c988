"""The crisis notice a response carries, counted for the operators' metrics."""

from __future__ import annotations

from app.metrics import CRISIS_NOTICES
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.risk import RiskAssessment


def counted(notice: CrisisNotice | None) -> CrisisNotice | None:
    if notice is not None:
        CRISIS_NOTICES.inc()
    return notice


def crisis_notice(
    catalog: Catalog, risk: RiskAssessment, country: str | None, language: str
) -> CrisisNotice | None:
    return counted(catalog.notice(risk, country, language))
