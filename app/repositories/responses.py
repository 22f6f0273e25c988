"""Queries on response sessions, and their answers in compact form.

A response's answers are stored one byte per item (:mod:`scoring.answer_copy`), in a layout
kept once in ``result_content`` for every response that shares it: the answers always read
back with the layout they were written in, whatever definition is loaded today.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, delete, insert
from sqlalchemy.orm import object_session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, col, select

from app.models import ResponseSession, ResponseStatus
from app.repositories import research_studies, result_content
from scoring import answer_copy
from scoring.definition import Definition


def get(session: Session, response_id: str, *, for_update: bool = False) -> ResponseSession | None:
    statement = select(ResponseSession).where(ResponseSession.id == response_id)
    if for_update:
        statement = statement.with_for_update()
    return session.exec(statement).first()


@lru_cache(maxsize=64)
def _layout_content(layout: answer_copy.Layout) -> tuple[str, str]:
    text = answer_copy.layout_text(layout)
    return hashlib.sha256(text.encode()).hexdigest(), text


@lru_cache(maxsize=64)
def _layout(text: str) -> answer_copy.Layout:
    return answer_copy.layout_from_text(text)


_PACKED_IN: dict[str, answer_copy.Layout] = {}
"""The layout of each definition answers were packed in, by content hash: the same hash is
the same definition, so the same layout."""


def packed_answers(content_hash: str, definition: Definition, answers: Mapping[str, int]) -> bytes:
    """``answers`` (checked against ``definition``) as a new response stores them; the
    layout's row is :func:`packed_layout`."""
    layout = _PACKED_IN.get(content_hash)
    if layout is None:
        layout = _PACKED_IN[content_hash] = answer_copy.layout_of(definition)
    return answer_copy.pack(layout, answers)


def packed_layout(content_hash: str) -> tuple[str, str]:
    """The ``result_content`` row, as ``(hash, body)``, of the layout the answers of this
    definition are packed in (:func:`packed_answers` has packed some)."""
    return _layout_content(_PACKED_IN[content_hash])


def write_answers(
    session: Session, row: ResponseSession, definition: Definition, answers: Mapping[str, int]
) -> None:
    """Store ``answers`` as the response's answers, in ``definition``'s layout. Answers to
    items the definition no longer asks (saved under an earlier version) keep the place they
    had in the layout they were written in, added last."""
    layout = answer_copy.layout_of(definition)
    earlier = answers.keys() - {item for item, _ in layout}
    if earlier and row.answer_layout is not None:
        (text,) = result_content.bodies(session, [row.answer_layout])
        places = dict(_layout(text))
        layout = (*layout, *((item, places[item]) for item in sorted(earlier) if item in places))
    (row.answer_layout,) = result_content.keep(session, [_layout_content(layout)])
    row.answers = answer_copy.pack(layout, answers)


def answers_of(row: ResponseSession) -> dict[str, int]:
    """The response's answers, as they were stored (read with the row's own session)."""
    if row.answer_layout is None:  # pragma: no cover - every stored response has its layout
        raise LookupError("a response's answers are read once it is stored")
    session = object_session(row)
    if not isinstance(session, Session):
        raise LookupError("the answers of a response are read in the session it came from")
    (text,) = result_content.bodies(session, [row.answer_layout])
    return answer_copy.unpack(_layout(text), bytes(row.answers))


_TABLE = ResponseSession.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)
_COLUMNS = tuple(column.key for column in _TABLE.columns)


@dataclass(frozen=True, slots=True)
class _CompiledInsert:
    """The INSERT of a whole row, compiled once for a dialect: its SQL, and for each
    parameter (in the order the SQL names them) the column it takes and how the dialect
    converts its value for the driver, if it does."""

    sql: str
    columns: tuple[str, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]
    positional: bool


_COMPILED: weakref.WeakKeyDictionary[Dialect, _CompiledInsert] = weakref.WeakKeyDictionary()


def _compiled_insert(dialect: Dialect) -> _CompiledInsert:
    found = _COMPILED.get(dialect)
    if found is None:
        compiled = _INSERT.compile(dialect=dialect, column_keys=list(_COLUMNS))
        assert isinstance(compiled, SQLCompiler)
        columns = tuple(compiled.positiontup or compiled.binds)
        converters: list[Callable[[Any], Any] | None] = []
        for column in columns:
            convert = compiled._bind_processors.get(column)
            if convert is not None and not callable(convert):  # pragma: no cover - tuples only
                raise RuntimeError(f"column {column} takes no single value")
            converters.append(convert)
        if set(columns) != set(_COLUMNS) or compiled.escaped_bind_names:  # pragma: no cover
            raise RuntimeError("the INSERT of new responses does not take one value per column")
        found = _COMPILED[dialect] = _CompiledInsert(
            compiled.string, columns, tuple(converters), compiled.positional
        )
    return found


def insert_new(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new responses given as the values of every column (each with the id of its
    answers' layout): one statement for them all, no ORM object. The session's identity map
    does not know them; a later query finds them.

    The statement is the one SQLAlchemy would send for these rows, compiled once per dialect,
    and the values are converted as SQLAlchemy converts them; the writer stores many rows per
    group, and compiling and converting them afresh each time cost more than the driver's
    own work."""
    connection = session.connection()
    insert = _compiled_insert(connection.dialect)
    pairs = tuple(zip(insert.columns, insert.converters, strict=True))
    if insert.positional:
        parameters: list[Any] = [
            tuple(row[c] if convert is None else convert(row[c]) for c, convert in pairs)
            for row in rows
        ]
    else:
        parameters = [
            {c: row[c] if convert is None else convert(row[c]) for c, convert in pairs}
            for row in rows
        ]
    connection.exec_driver_sql(insert.sql, parameters)


def erase(session: Session, response: ResponseSession) -> None:
    """Delete the response; its idempotency records go with it (ON DELETE CASCADE). A
    submitted response of a study counts in the study's erasures of the day (no id kept)."""
    if response.study is not None and response.status == ResponseStatus.submitted.value:
        research_studies.count_erasure(session, response.study, dt.datetime.now(dt.UTC).date())
    session.delete(response)
    session.flush()


def delete_expired_incomplete(session: Session, now: dt.datetime) -> int:
    statement = (
        delete(ResponseSession)
        .where(col(ResponseSession.status) == ResponseStatus.in_progress.value)
        .where(col(ResponseSession.expires_at) < now)
    )
    return session.exec(statement).rowcount or 0
