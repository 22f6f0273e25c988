"""Compact responses: answers one byte per item instead of JSON, digests as raw bytes, and
the study and expiry indexes only over the rows that have one.

Each response's answers (``response_session.answers``, JSON) become bytes in the layout of
:mod:`scoring.answer_copy`; the layout (which item each byte stands for) is stored once in
``result_content`` for every response that shares it, and ``answer_layout`` refers to it.
The token digest and the content hash (also in the research index) become their 32 bytes
(:mod:`app.models.columns`; a token digest that is not one, which no token could match,
becomes empty). Most submitted responses have neither a study nor an expiry: the indexes on
those hold only the rows that do, which every query on them asks for.

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
from app.models.columns import content_hash_bytes, content_hash_text, digest_bytes
from scoring import answer_copy

revision: str = "0006"
down_revision: str | None = "0005"
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
PARTIAL_INDEXES = {
    "ix_response_session_study": "study",
    "ix_response_session_expires_at": "expires_at",
}

contents = sa.table(
    "result_content",
    sa.column("id", sa.Integer()),
    sa.column("hash", sa.String()),
    sa.column("body", sa.Text()),
)
before = sa.table(
    "response_session",
    sa.column("id", sa.String()),
    sa.column("token_hash", sa.String()),
    sa.column("questionnaire_hash", sa.String()),
    sa.column("answers", sa.JSON()),
    sa.column("answer_layout", sa.Integer()),
    sa.column("answer_places", sa.LargeBinary()),
    sa.column("token_digest", sa.LargeBinary()),
    sa.column("content_hash", sa.LargeBinary()),
)
after = sa.table(
    "response_session",
    sa.column("id", sa.String()),
    sa.column("token_hash", sa.LargeBinary()),
    sa.column("questionnaire_hash", sa.LargeBinary()),
    sa.column("answers", sa.LargeBinary()),
    sa.column("answer_layout", sa.Integer()),
    sa.column("answers_json", sa.JSON()),
    sa.column("token_text", sa.String()),
    sa.column("hash_text", sa.String()),
)


def _answers(value: Any) -> dict[str, int]:
    stored = json.loads(value) if isinstance(value, str) else value
    return {str(item): int(answer) for item, answer in (stored or {}).items()}


def _batches(table: sa.TableClause, *columns: str) -> Iterator[sa.Row[Any]]:
    """Every response, by id, a thousand at a time."""
    connection = op.get_bind()
    last = ""
    while True:
        batch = connection.execute(
            sa.select(table.c.id, *(table.c[name] for name in columns))
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def _drop_indexes() -> None:
    for index in (RESEARCH_INDEX, *PARTIAL_INDEXES):
        op.drop_index(index, table_name="response_session")


def _create_indexes(*, partial: bool) -> None:
    op.create_index(RESEARCH_INDEX, "response_session", RESEARCH_COLUMNS)
    for index, column in PARTIAL_INDEXES.items():
        where = sa.text(f"{column} IS NOT NULL") if partial else None
        op.create_index(
            index, "response_session", [column], sqlite_where=where, postgresql_where=where
        )


def _replace_columns(replaced: dict[str, tuple[str, sa.types.TypeEngine[Any]]]) -> None:
    """Drop each old column, then give its replacement its name (not null)."""
    with op.batch_alter_table("response_session") as table:
        for old in replaced:
            table.drop_column(old)
    with op.batch_alter_table("response_session") as table:
        for old, (new, type_) in replaced.items():
            table.alter_column(new, new_column_name=old, existing_type=type_, nullable=False)


def upgrade() -> None:
    op.add_column("response_session", sa.Column("answer_layout", sa.Integer()))
    for column in ("answer_places", "token_digest", "content_hash"):
        op.add_column("response_session", sa.Column(column, sa.LargeBinary()))
    _compact_every_response()
    _drop_indexes()
    _replace_columns(
        {
            "answers": ("answer_places", sa.LargeBinary()),
            "token_hash": ("token_digest", sa.LargeBinary()),
            "questionnaire_hash": ("content_hash", sa.LargeBinary()),
        }
    )
    with op.batch_alter_table("response_session") as table:
        table.alter_column("answer_layout", existing_type=sa.Integer(), nullable=False)
    _create_indexes(partial=True)


def _layouts() -> dict[str, answer_copy.Layout]:
    """Each stored content hash's layout: its definition's when loaded (with any item that
    no longer has a place in it added last), else the items its responses answered."""
    catalog = load_catalog(get_settings())
    loaded = {d.content_hash: d.definition for d in catalog.definitions.values()}
    lowest: dict[str, dict[str, int]] = {}
    for _, content_hash, stored in _batches(before, "questionnaire_hash", "answers"):
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


def _token_digest(text: str) -> bytes:
    try:
        return digest_bytes(text)
    except ValueError:
        return b""  # no token's digest is anything but a digest: it matched nothing before


def _compact_every_response() -> None:
    connection = op.get_bind()
    layouts = _layouts()
    ids = {h: _stored(answer_copy.layout_text(layout)) for h, layout in layouts.items()}
    rows = _batches(before, "questionnaire_hash", "answers", "token_hash")
    for response_id, content_hash, stored, token_hash in rows:
        connection.execute(
            sa.update(before)
            .where(before.c.id == response_id)
            .values(
                answer_layout=ids[content_hash],
                answer_places=answer_copy.pack(layouts[content_hash], _answers(stored)),
                token_digest=_token_digest(token_hash),
                content_hash=content_hash_bytes(content_hash),
            )
        )


def downgrade() -> None:
    op.add_column("response_session", sa.Column("answers_json", sa.JSON()))
    op.add_column("response_session", sa.Column("token_text", sa.String(length=64)))
    op.add_column("response_session", sa.Column("hash_text", sa.String(length=80)))
    _expand_every_response()
    _drop_indexes()
    with op.batch_alter_table("response_session") as table:
        table.drop_column("answer_layout")
    _replace_columns(
        {
            "answers": ("answers_json", sa.JSON()),
            "token_hash": ("token_text", sa.String(length=64)),
            "questionnaire_hash": ("hash_text", sa.String(length=80)),
        }
    )
    _create_indexes(partial=False)


def _expand_every_response() -> None:
    connection = op.get_bind()
    layouts: dict[int, answer_copy.Layout] = {}
    rows = _batches(after, "answer_layout", "answers", "token_hash", "questionnaire_hash")
    for response_id, layout_id, stored, token_hash, content_hash in rows:
        if layout_id not in layouts:
            body = connection.execute(
                sa.select(contents.c.body).where(contents.c.id == layout_id)
            ).scalar_one()
            layouts[layout_id] = answer_copy.layout_from_text(body)
        connection.execute(
            sa.update(after)
            .where(after.c.id == response_id)
            .values(
                answers_json=answer_copy.unpack(layouts[layout_id], bytes(stored)),
                token_text=bytes(token_hash).hex(),
                hash_text=content_hash_text(bytes(content_hash)),
            )
        )
