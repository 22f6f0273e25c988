"""Database tables. Alembic reads ``SQLModel.metadata`` from here."""

from app.models.audit import ExportAudit
from app.models.idempotency import IdempotencyRecord
from app.models.privacy_budget import PrivacyBudget
from app.models.research_index import RESEARCH_INDEX
from app.models.researcher import ResearcherKey
from app.models.response import ResponseSession, ResponseStatus
from app.models.result_content import ResultContent
from app.models.study import Study, StudyErasures, StudyExports

__all__ = [
    "RESEARCH_INDEX",
    "ExportAudit",
    "IdempotencyRecord",
    "PrivacyBudget",
    "ResearcherKey",
    "ResponseSession",
    "ResponseStatus",
    "ResultContent",
    "Study",
    "StudyErasures",
    "StudyExports",
]
