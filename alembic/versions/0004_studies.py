"""Registered studies with their enrolment codes and daily erasure counts; the research
audit log records refused calls too.

Every study code already found on a response is registered, so that its exports go on as
before (``exact``), with a new random enrolment code: links that carried the public code stop
adding responses to the study (the web client ignores the code, the API refuses it) until the
operator hands out the new link (``securebase studies show CODE``).

The audit log gains ``outcome`` (the HTTP status; every earlier row was an export served, 200)
and allows a row without a key (a call with no valid key).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ALPHABET = string.ascii_letters + string.digits
ENROLMENT_CODE_LENGTH = 20


def _enrolment_code() -> str:
    # The same form as app.services.studies.new_enrolment_code, kept here so that the
    # migration does not change when the application does.
    return "".join(secrets.choice(_ALPHABET) for _ in range(ENROLMENT_CODE_LENGTH))


def upgrade() -> None:
    study = op.create_table(
        "study",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("enrolment_code", sa.String(length=64), nullable=False),
        sa.Column("exports", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_study_enrolment_code", "study", ["enrolment_code"], unique=True)
    op.create_table(
        "study_erasures",
        sa.Column("study", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("erased", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["study"], ["study.code"]),
        sa.PrimaryKeyConstraint("study", "day"),
    )
    connection = op.get_bind()
    seen = connection.execute(
        sa.text("SELECT DISTINCT study FROM response_session WHERE study IS NOT NULL")
    ).scalars()
    now = dt.datetime.now(dt.UTC)
    rows = [
        {"code": code, "enrolment_code": _enrolment_code(), "exports": "exact", "created_at": now}
        for code in sorted(seen)
    ]
    if rows:
        op.bulk_insert(study, rows)

    with op.batch_alter_table("research_export_audit") as table:
        table.add_column(
            sa.Column("outcome", sa.Integer(), nullable=False, server_default=sa.text("200"))
        )
        table.alter_column("researcher_key_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM research_export_audit WHERE researcher_key_id IS NULL"))
    with op.batch_alter_table("research_export_audit") as table:
        table.alter_column("researcher_key_id", existing_type=sa.Integer(), nullable=False)
        table.drop_column("outcome")
    op.drop_table("study_erasures")
    op.drop_index("ix_study_enrolment_code", table_name="study")
    op.drop_table("study")
