"""Each dimension's packed code stored with a submitted response's research copy.

``response_session.research_codes`` holds, for every response with a research copy, the
packed code of each dimension (:mod:`app.repositories.research_codes`), and joins the
research index after the copy, so the exports count stored codes instead of decoding every
copy. Every existing research copy whose questionnaire version is loaded (or is declared by
a loaded one to measure the same) gets its codes here, computed from the copy exactly as the exports decode it; a copy of a version no longer
loaded keeps none (no export can cover it; should its version be loaded again, the exports
decode such copies as before). Downgrade drops the column.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.config import get_settings
from app.main import load_catalog
from app.models.columns import content_hash_text
from app.repositories.research_codes import codes_of

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1_000
RESEARCH_INDEX = "ix_response_session_research"
RESEARCH_COLUMNS = [
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
    "research_answers",
]

responses = sa.table(
    "response_session",
    sa.column("id", sa.String()),
    sa.column("questionnaire_hash", sa.LargeBinary()),
    sa.column("research_answers", sa.LargeBinary()),
    sa.column("research_codes", sa.LargeBinary()),
)


def upgrade() -> None:
    op.add_column("response_session", sa.Column("research_codes", sa.LargeBinary()))
    _store_codes()
    op.drop_index(RESEARCH_INDEX, table_name="response_session")
    op.create_index(RESEARCH_INDEX, "response_session", [*RESEARCH_COLUMNS, "research_codes"])


def _store_codes() -> None:
    """The codes of every research copy of a loaded version, a thousand rows at a time."""
    connection = op.get_bind()
    catalog = load_catalog(get_settings())
    # Each loaded version, under its own hash and those of the earlier versions it declares
    # measure the same (the same research copy, so the same codes).
    loaded = {
        content_hash: d
        for d in catalog.definitions.values()
        for content_hash in d.measured_hashes
    }
    last = ""
    while True:
        batch = connection.execute(
            sa.select(responses.c.id, responses.c.questionnaire_hash, responses.c.research_answers)
            .where(responses.c.id > last, responses.c.research_answers.is_not(None))
            .order_by(responses.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for response_id, stored_hash, copy in batch:
            version = loaded.get(content_hash_text(bytes(stored_hash)))
            if version is None:
                continue
            connection.execute(
                sa.update(responses)
                .where(responses.c.id == response_id)
                .values(
                    research_codes=codes_of(version.content_hash, version.definition, bytes(copy))
                )
            )
        last = batch[-1][0]


def downgrade() -> None:
    op.drop_index(RESEARCH_INDEX, table_name="response_session")
    with op.batch_alter_table("response_session") as table:
        table.drop_column("research_codes")
    op.create_index(RESEARCH_INDEX, "response_session", RESEARCH_COLUMNS)
