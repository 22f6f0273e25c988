"""Compact answers: one byte per item instead of a JSON object per response.

Each response's answers (``response_session.answers``, JSON) become bytes in the layout of
:mod:`scoring.answer_copy`; the layout (which item each byte stands for) is stored once in
``result_content`` for every response that shares it, and ``answer_layout`` refers to it.

The layout of a response is its definition's, when the definition with the response's
content hash is loaded. For any other version (no longer loaded), the layout is made from
the answers stored for that version: every item any of its responses answered, each with the
lowest answer given as its first place. Either way every stored answer reads back as it was.
Downgrade writes every response's answers back as JSON.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.config import get_settings
from app.main import load_catalog
from scoring import answer_copy

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1_000

contents = sa.table(
    "result_content",
    sa.column("id", sa.Integer()),
    sa.column("hash", sa.String()),
    sa.column("body", sa.Text()),
)
responses = sa.table(
    "response_session",
    sa.column("id", sa.String()),
    sa.column("questionnaire_hash", sa.String()),
    sa.column("answers", sa.JSON()),
    sa.column("answers_json", sa.JSON()),
    sa.column("answer_places", sa.LargeBinary()),
    sa.column("answer_layout", sa.Integer()),
)
packed = sa.table(
    "response_session",
    sa.column("id", sa.String()),
    sa.column("answers", sa.LargeBinary()),
    sa.column("answer_layout", sa.Integer()),
)


def _answers(value: Any) -> dict[str, int]:
    stored = json.loads(value) if isinstance(value, str) else value
    return {str(item): int(answer) for item, answer in (stored or {}).items()}


def _batches(table: sa.TableClause, *columns: str) -> Iterator[sa.Row[Any]]:
    """Every response, by id, a thousand at a time."""
    connection = op.get_bind()
    after = ""
    while True:
        batch = connection.execute(
            sa.select(table.c.id, *(table.c[name] for name in columns))
            .where(table.c.id > after)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1][0]


def upgrade() -> None:
    op.add_column("response_session", sa.Column("answer_layout", sa.Integer()))
    op.add_column("response_session", sa.Column("answer_places", sa.LargeBinary()))
    _pack_stored_answers()
    with op.batch_alter_table("response_session") as table:
        table.drop_column("answers")
    with op.batch_alter_table("response_session") as table:
        table.alter_column(
            "answer_places",
            new_column_name="answers",
            existing_type=sa.LargeBinary(),
            nullable=False,
        )
        table.alter_column("answer_layout", existing_type=sa.Integer(), nullable=False)


def _layouts() -> dict[str, answer_copy.Layout]:
    """Each stored content hash's layout: its definition's when loaded (with any item that
    no longer has a place in it added last), else the items its responses answered."""
    loaded = {d.content_hash: d.definition for d in load_catalog(get_settings()).definitions.values()}
    lowest: dict[str, dict[str, int]] = {}
    for _, content_hash, stored in _batches(responses, "questionnaire_hash", "answers"):
        seen = lowest.setdefault(content_hash, {})
        for item, answer in _answers(stored).items():
            seen[item] = min(answer, seen.get(item, answer))
    layouts = {}
    for content_hash, seen in lowest.items():
        definition = loaded.get(content_hash)
        known = answer_copy.layout_of(definition) if definition is not None else ()
        placed = {item for item, _ in known}
        layouts[content_hash] = (
            *known,
            *((item, seen[item]) for item in sorted(seen) if item not in placed),
        )
    return layouts


def _stored(body: str) -> int:
    connection = op.get_bind()
    digest = hashlib.sha256(body.encode()).hexdigest()
    found = connection.execute(sa.select(contents.c.id).where(contents.c.hash == digest))
    ident = found.scalar_one_or_none()
    if ident is None:
        connection.execute(sa.insert(contents).values(hash=digest, body=body))
        ident = connection.execute(
            sa.select(contents.c.id).where(contents.c.hash == digest)
        ).scalar_one()
    return int(ident)


def _pack_stored_answers() -> None:
    connection = op.get_bind()
    layouts = _layouts()
    ids = {h: _stored(answer_copy.layout_text(layout)) for h, layout in layouts.items()}
    for response_id, content_hash, stored in _batches(responses, "questionnaire_hash", "answers"):
        connection.execute(
            sa.update(responses)
            .where(responses.c.id == response_id)
            .values(
                answer_layout=ids[content_hash],
                answer_places=answer_copy.pack(layouts[content_hash], _answers(stored)),
            )
        )


def downgrade() -> None:
    op.add_column("response_session", sa.Column("answers_json", sa.JSON()))
    _unpack_stored_answers()
    with op.batch_alter_table("response_session") as table:
        table.drop_column("answers")
        table.drop_column("answer_layout")
    with op.batch_alter_table("response_session") as table:
        table.alter_column(
            "answers_json", new_column_name="answers", existing_type=sa.JSON(), nullable=False
        )


def _unpack_stored_answers() -> None:
    connection = op.get_bind()
    bodies: dict[int, answer_copy.Layout] = {}
    for response_id, layout_id, stored in _batches(packed, "answer_layout", "answers"):
        if layout_id not in bodies:
            body = connection.execute(
                sa.select(contents.c.body).where(contents.c.id == layout_id)
            ).scalar_one()
            bodies[layout_id] = answer_copy.layout_from_text(body)
        connection.execute(
            sa.update(responses)
            .where(responses.c.id == response_id)
            .values(answers_json=answer_copy.unpack(bodies[layout_id], bytes(stored)))
        )
