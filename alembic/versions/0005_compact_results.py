"""Compact stored results: a submitted response keeps its numbers and the id of its
result's frame in ``result_content`` instead of its whole result document.

Upgrade splits every stored document (``response_session.scores``) into pieces, a frame and
values exactly as ``app.services.stored_results`` does, stores each distinct piece and frame
once under its SHA-256, and drops ``scores``. Downgrade puts every document back together and drops
``result_content``. The splitting is written out here, so that this migration does not
change when the application does.

The indexes on ``questionnaire_id`` and on ``status`` alone go (about 60 bytes a response):
the research index begins with the questionnaire and holds the status, the purge of
unfinished responses reads the ``expires_at`` index (only unfinished responses have an
expiry), and a study's responses are found by the ``study`` index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from string import Formatter
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1_000
WHOLE_FIELDS = ("psychoeducation",)
SEPARATOR = ","
EARLIER = "^"
SINGLE_COLUMN_INDEXES = {
    "ix_response_session_questionnaire_id": "questionnaire_id",
    "ix_response_session_status": "status",
}
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?!\w)")

contents = sa.table(
    "result_content",
    sa.column("id", sa.Integer()),
    sa.column("hash", sa.String()),
    sa.column("body", sa.Text()),
)
responses = sa.table(
    "response_session",
    sa.column("id", sa.String()),
    sa.column("scores", sa.JSON()),
    sa.column("result_frame", sa.Integer()),
    sa.column("result_values", sa.Text()),
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _cut(value: Any) -> list[str]:
    if isinstance(value, dict | list) and value:
        dict_ = isinstance(value, dict)
        parts = (
            [_json(k) + ":" + _json(v) for k, v in value.items()]
            if isinstance(value, dict)
            else [_json(v) for v in value]
        )
        opening, closing = ("{", "}") if dict_ else ("[", "]")
        last = [closing] if len(parts) == 1 else ["," + parts[-1] + closing]
        return [opening + parts[0], *("," + p for p in parts[1:-1]), *last]
    text = _json(value)
    if isinstance(value, str):
        sentences = text.split(". ")  # cut after each ". ", which stays with its sentence
        return [*(sentence + ". " for sentence in sentences[:-1]), sentences[-1]]
    return [text]


def _split(stored: dict[str, Any]) -> tuple[list[str], str]:
    """Pieces (slotted, escaped) and packed values of a stored document."""
    document = {k: v for k, v in stored.items() if k not in WHOLE_FIELDS}
    document.update({k: stored[k] for k in WHOLE_FIELDS if k in stored})
    values: list[str] = []
    pieces: list[str] = []
    for index, (name, value) in enumerate(document.items()):
        cut = _cut(value)
        cut[0] = ("{" if index == 0 else ",") + _json(name) + ":" + cut[0]
        if index == len(document) - 1:
            cut[-1] += "}"
        for piece in cut:
            if name in WHOLE_FIELDS:
                pieces.append(_escaped(piece))
                continue
            slots: dict[str, int] = {}

            def slot(match: re.Match[str], slots: dict[str, int] = slots) -> str:
                number = match.group()
                if number not in slots:
                    slots[number] = len(slots)
                    values.append(number)
                return "{" + str(slots[number]) + "}"

            pieces.append(_NUMBER.sub(slot, _escaped(piece)))
    first: dict[str, int] = {}
    packed = []
    for position, value in enumerate(values):
        earlier = f"{EARLIER}{first[value]}" if value in first else value
        if len(earlier) < len(value):
            packed.append(earlier)
        else:
            first[value] = position
            packed.append(value)
    return pieces, SEPARATOR.join(packed)


def _join(pieces: list[str], values: str) -> dict[str, Any]:
    numbers: list[str] = []
    for value in values.split(SEPARATOR) if values else []:
        numbers.append(numbers[int(value[1:])] if value.startswith(EARLIER) else value)
    parts: list[str] = []
    used = 0
    for body in pieces:
        count = len({field for _, field, _, _ in Formatter().parse(body) if field is not None})
        parts.append(body.format(*numbers[used : used + count]))
        used += count
    document: dict[str, Any] = json.loads("".join(parts))
    return document


def upgrade() -> None:
    op.create_table(
        "result_content",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_result_content_hash", "result_content", ["hash"], unique=True)
    op.add_column("response_session", sa.Column("result_frame", sa.Integer()))
    op.add_column("response_session", sa.Column("result_values", sa.Text()))
    _split_stored_documents()
    for index in SINGLE_COLUMN_INDEXES:
        op.drop_index(index, table_name="response_session")
    with op.batch_alter_table("response_session") as table:
        table.drop_column("scores")


def _split_stored_documents() -> None:
    connection = op.get_bind()
    ids: dict[str, int] = {}

    def stored(body: str) -> int:
        digest = hashlib.sha256(body.encode()).hexdigest()
        if digest not in ids:
            connection.execute(sa.insert(contents).values(hash=digest, body=body))
            ids[digest] = connection.execute(
                sa.select(contents.c.id).where(contents.c.hash == digest)
            ).scalar_one()
        return ids[digest]

    after = ""
    while True:
        batch = connection.execute(
            sa.select(responses.c.id, responses.c.scores)
            .where(responses.c.scores.is_not(None), responses.c.id > after)
            .order_by(responses.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for response_id, document in batch:
            if isinstance(document, str):  # pragma: no cover - a driver without JSON decoding
                document = json.loads(document)
            pieces, values = _split(document)
            frame = stored(SEPARATOR.join(str(stored(piece)) for piece in pieces))
            connection.execute(
                sa.update(responses)
                .where(responses.c.id == response_id)
                .values(result_frame=frame, result_values=values)
            )
        after = batch[-1][0]


def downgrade() -> None:
    op.add_column("response_session", sa.Column("scores", sa.JSON(), nullable=True))
    _join_stored_documents()
    with op.batch_alter_table("response_session") as table:
        table.drop_column("result_values")
        table.drop_column("result_frame")
    for index, column in SINGLE_COLUMN_INDEXES.items():
        op.create_index(index, "response_session", [column])
    op.drop_table("result_content")


def _join_stored_documents() -> None:
    connection = op.get_bind()
    bodies = dict(connection.execute(sa.select(contents.c.id, contents.c.body)).all())
    after = ""
    while True:
        batch = connection.execute(
            sa.select(responses.c.id, responses.c.result_frame, responses.c.result_values)
            .where(responses.c.result_frame.is_not(None), responses.c.id > after)
            .order_by(responses.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for response_id, frame, values in batch:
            pieces = [bodies[int(ref)] for ref in bodies[frame].split(SEPARATOR)]
            connection.execute(
                sa.update(responses)
                .where(responses.c.id == response_id)
                .values(scores=_join(pieces, values or ""))
            )
        after = batch[-1][0]
