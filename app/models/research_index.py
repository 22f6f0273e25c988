"""An index on ``response_session`` for the research exports.

Every research query filters on questionnaire, content hash, consent and status (and often a
time range), then counts by study, language, country, tendency, crisis level or period. With
all of those in one index, and the compact research copy of the answers last, every research
query reads only the index, never the wide rows with their JSON answers and stored results.
"""

from __future__ import annotations

from sqlalchemy import Index

from app.models.response import ResponseSession

_columns = ResponseSession.__table__.c  # type: ignore[attr-defined]

RESEARCH_INDEX = Index(
    "ix_response_session_research",
    _columns.questionnaire_id,
    _columns.questionnaire_hash,
    _columns.research_consent,
    _columns.status,
    _columns.submitted_at,
    _columns.study,
    _columns.language,
    _columns.country,
    _columns.primary_tendency,
    _columns.crisis_level,
    _columns.research_answers,
    _columns.research_codes,
)
