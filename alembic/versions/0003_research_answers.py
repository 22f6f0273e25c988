"""A compact research copy of the answers, read by the research exports from their index.

Responses already submitted with research consent get their copy here, when the definition
they were scored with is the one now loaded (exports cover only that one). The research
index is rebuilt with the copy as its last column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.config import get_settings
from app.main import load_catalog
from scoring import answer_copy

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_response_session_research"
INDEX_COLUMNS = [
    "questionnaire_id",
    "questionnaire_hash",
    "research_consent",
    "status",
    "submitted_at",
    "study",
    "language",
    "country",
    "primary_tendency",
    "crisis_level",
]
BATCH = 1_000

responses = sa.table(
    "response_session",
    sa.column("id", sa.String()),
    sa.column("questionnaire_id", sa.String()),
    sa.column("questionnaire_hash", sa.String()),
    sa.column("research_consent", sa.Boolean()),
    sa.column("status", sa.String()),
    sa.column("answers", sa.JSON()),
    sa.column("research_answers", sa.LargeBinary()),
)


def upgrade() -> None:
    op.add_column("response_session", sa.Column("research_answers", sa.LargeBinary()))
    _copy_answers_of_submitted_responses()
    op.drop_index(INDEX, table_name="response_session")
    op.create_index(INDEX, "response_session", [*INDEX_COLUMNS, "research_answers"])


def _copy_answers_of_submitted_responses() -> None:
    connection = op.get_bind()
    catalog = load_catalog(get_settings())
    after = ""
    while True:
        batch = connection.execute(
            sa.select(
                responses.c.id,
                responses.c.questionnaire_id,
                responses.c.questionnaire_hash,
                responses.c.answers,
            )
            .where(
                responses.c.status == "submitted",
                responses.c.research_consent.is_(True),
                responses.c.id > after,
            )
            .order_by(responses.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for response_id, questionnaire_id, content_hash, answers in batch:
            loaded = catalog.get(questionnaire_id)
            # The loaded version, or an earlier one it declares measures the same (whose
            # answers the research copy lays out alike).
            if loaded is None or content_hash not in loaded.measured_hashes:
                continue
            stored = json.loads(answers) if isinstance(answers, str) else answers
            connection.execute(
                responses.update()
                .where(responses.c.id == response_id)
                .values(research_answers=answer_copy.encode(loaded.definition, stored))
            )
        after = batch[-1][0]


def downgrade() -> None:
    op.drop_index(INDEX, table_name="response_session")
    op.create_index(INDEX, "response_session", INDEX_COLUMNS)
    with op.batch_alter_table("response_session") as table:
        table.drop_column("research_answers")
