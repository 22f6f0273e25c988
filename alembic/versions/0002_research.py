"""Research exports: researcher keys, the export audit log, the privacy budget ledger, and an
index on response sessions for the research queries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESEARCH_INDEX_COLUMNS = [
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


def upgrade() -> None:
    op.create_table(
        "researcher_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("all_studies", sa.Boolean(), nullable=False),
        sa.Column("studies", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_researcher_key_key_hash", "researcher_key", ["key_hash"], unique=True)

    op.create_table(
        "research_export_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("researcher_key_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("privacy", sa.String(length=16), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("cells_suppressed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["researcher_key_id"], ["researcher_key.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("created_at", "researcher_key_id"):
        op.create_index(
            f"ix_research_export_audit_{column}", "research_export_audit", [column]
        )

    op.create_table(
        "privacy_budget",
        sa.Column("study", sa.String(length=64), nullable=False),
        sa.Column("epsilon_spent", sa.Float(), nullable=False),
        sa.Column("releases", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("study"),
    )

    op.create_index(
        "ix_response_session_research", "response_session", RESEARCH_INDEX_COLUMNS
    )


def downgrade() -> None:
    op.drop_index("ix_response_session_research", table_name="response_session")
    op.drop_table("privacy_budget")
    op.drop_table("research_export_audit")
    op.drop_table("researcher_key")
