"""Queries for the research exports: counts from the database, sums from research copies.

Only responses that are submitted, whose respondent opted in to research, that belong to the
questionnaire with the content hash being described (or that of an earlier version it
declares measures the same, :class:`~app.repositories.research_scope.ResponseFilter`), and
(when asked) to the given
studies and submission dates are counted; an erased response is a deleted row, so it is gone
from every later export. A summary's counts (per group, primary tendency, crisis level, period
and dimension score) come from ONE pass over the research index (:func:`response_counts`),
reading the same rows a plain aggregate reads, once. The statistics of the answers come from
each response's research copy (one byte per item, see :mod:`scoring.answer_copy`): the copies
stream out of the research index in batches and are added up with numpy, so memory holds one
batch and the running sums, never every response. Every result is bounded by the
questionnaire and the number of groups and periods, not by the number of responses, and every
sum is an exact integer.

Groups are a column of the response (study, language, country, primary tendency) or the answer
to a demographic item, read from its byte in the research copy as each batch is decoded.

What differs between SQLite and PostgreSQL lives in :mod:`app.repositories.research_sql` and
in the counting a day at a time inside the database with the codes stored at submission:
SQLite's :mod:`app.repositories.research_days` (a query per day or span of days) and
PostgreSQL's :mod:`app.repositories.research_pg_days` (one query, a subquery per day).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, case, literal_column, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.models import ResponseSession
from app.repositories import research_pg_days
from app.repositories.research_codes import Coder
from app.repositories.research_days import copies_in_ranges, counted_by_day
from app.repositories.research_pg_days import copies_by_day
from app.repositories.research_scope import (
    GROUP_COLUMNS,
    DemographicGroups,
    Grouping,
    GroupKey,
    ItemTallies,
    PackedDimension,
    ResponseFilter,
)
from app.repositories.research_sql import (
    Dialect,
    answer_byte,
    as_date,
    batches,
    counted_day,
    counting_settings,
    dialect_of,
    grouped_counts,
    period_start,
    start_of,
    stream,
)
from app.schemas.research import PeriodUnit

if TYPE_CHECKING:
    from app.repositories.research_arrays import Matrix

_ANSWER_BATCH = 5_000
"""Research copies decoded at a time: what bounds the memory an export needs."""
_COUNT_BATCH = 2_000
"""Rows fetched and counted at a time by :func:`response_counts`, whose rows carry four more
values than a research copy's: smaller batches keep its memory as flat."""
_table = ResponseSession.__table__.c  # type: ignore[attr-defined]


def _dialect(session: Session) -> Dialect:
    return dialect_of(session.get_bind().dialect.name)


def _answer_batches(
    session: Session, where: ResponseFilter, group: Grouping | None
) -> Iterator[tuple[list[GroupKey], Matrix]]:
    """The covered responses' research copies of their answers, a batch at a time: the
    group of each row, and a matrix with a row per response and a column per byte."""
    from app.repositories import research_arrays as arrays

    column = GROUP_COLUMNS[group] if isinstance(group, str) else literal_column("NULL")
    statement = select(column.label("grp"), _table.research_answers).where(*where.conditions())
    for batch in _row_batches(session, statement, _ANSWER_BATCH):
        groups = list(map(_first, batch))
        yield arrays.batch_of(group, groups, list(map(_second, batch)))


def dimension_codes(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    dimensions: Sequence[PackedDimension],
    *,
    stored: bool = False,
) -> Counter[tuple[GroupKey, int, int]]:
    """How many responses (per group) have each packed code on each dimension:
    ``(group, dimension index, code) -> count``.

    The research copies stream past in batches and are decoded and counted batch by batch;
    the counter holds at most one entry per group, dimension and possible (sum, answered)
    pair, however many responses there are. With ``stored``, the database concatenates
    the stored codes a day at a time and numpy counts them
    (:func:`app.repositories.research_pg_days.counted_by_day` on PostgreSQL,
    :func:`app.repositories.research_days.counted_by_day` on SQLite); otherwise PostgreSQL
    counts the codes it computes from the copies (:func:`counted_in_database`).
    """
    postgresql = _dialect(session) == "postgresql"
    if postgresql and stored:
        return research_pg_days.counted_by_day(
            session.connection(), where, group, None, dimensions
        )[1]
    if postgresql:
        return counted_in_database(session, where, group, None, dimensions).codes
    if stored:
        return counted_by_day(session.connection(), where, group, None, dimensions)[1]
    return streamed_codes(session, where, group, dimensions, stored=stored)


def streamed_codes(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    dimensions: Sequence[PackedDimension],
    *,
    stored: bool = False,
) -> Counter[tuple[GroupKey, int, int]]:
    """:func:`dimension_codes` counted in Python from the streamed research copies (either
    database); with ``stored`` as in :func:`streamed_counts`."""
    from app.repositories import research_arrays as arrays

    codes = arrays.CodeCounts(dimensions)
    if stored and not isinstance(group, DemographicGroups):
        column = GROUP_COLUMNS[group] if isinstance(group, str) else literal_column("NULL")
        statement = select(column.label("grp"), *_STORED).where(*where.conditions())
        for batch in _row_batches(session, statement, _ANSWER_BATCH):
            codes.add_stored(list(map(_first, batch)), _stored_or_decoded(batch, 1, dimensions))
        return codes.counter()
    for groups, matrix in _answer_batches(session, where, group):
        codes.add(groups, matrix)
    return codes.counter()


ResponseKey = tuple[GroupKey, str | None, str | None, dt.date]
"""(group, primary tendency, crisis level, first day of the period of submission)."""


@dataclass(frozen=True, slots=True)
class ResponseCounts:
    """What one pass over the covered responses counts: responses per :data:`ResponseKey`,
    and per ``(group, dimension index, packed code)`` as :func:`dimension_codes` does."""

    responses: Counter[ResponseKey]
    codes: Counter[tuple[GroupKey, int, int]]


def response_counts(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    unit: PeriodUnit,
    dimensions: Sequence[PackedDimension],
    *,
    stored: bool = False,
) -> ResponseCounts:
    """Responses per (group, primary tendency, crisis level, period), and the packed codes
    of every dimension per group, in ONE pass over the research index.

    Every column read is in the research index, so the pass reads the index only, as the
    plain aggregate does. With ``stored``, the database counts a day at a time and numpy
    counts the codes it concatenates
    (:func:`app.repositories.research_pg_days.counted_by_day` on PostgreSQL,
    :func:`app.repositories.research_days.counted_by_day` on SQLite); otherwise PostgreSQL
    counts the codes it computes from the copies (:func:`counted_in_database`) and SQLite's
    rows are streamed and counted in Python (:func:`streamed_counts`).
    """
    postgresql = _dialect(session) == "postgresql"
    if postgresql and stored:
        counted = research_pg_days.counted_by_day(
            session.connection(), where, group, unit, dimensions
        )
        return ResponseCounts(*counted)
    if postgresql:
        return counted_in_database(session, where, group, unit, dimensions)
    if stored:
        return ResponseCounts(*counted_by_day(session.connection(), where, group, unit, dimensions))
    return streamed_counts(session, where, group, unit, dimensions, stored=stored)


def streamed_counts(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    unit: PeriodUnit,
    dimensions: Sequence[PackedDimension],
    *,
    stored: bool = False,
) -> ResponseCounts:
    """:func:`response_counts` counted in Python (either database). Rows are taken a batch
    at a time: the keys are counted with a :class:`Counter` over the batch's tuples, the
    copies decoded with numpy, so memory holds one batch and counters whose size is bounded
    by the questionnaire, the groups and the periods, never by the number of responses.

    ``stored`` (as for :func:`counted_in_database`), unless the groups are a demographic
    item's answers (read from the copies): the codes stored at submission are counted
    instead of decoding the copies (:func:`_stored_or_decoded`)."""
    from app.repositories import research_arrays as arrays

    dialect = _dialect(session)
    column = GROUP_COLUMNS[group] if isinstance(group, str) else literal_column("NULL")
    demographic = isinstance(group, DemographicGroups)
    stored = stored and not demographic
    statement = select(
        column.label("grp"),
        _table.primary_tendency,
        _table.crisis_level,
        counted_day(dialect).label("day"),
        *(_STORED if stored else (_table.research_answers,)),
    ).where(*where.conditions())
    by_row: Counter[tuple[Any, ...]] = Counter()
    codes = arrays.CodeCounts(dimensions)
    for batch in _row_batches(session, statement, _COUNT_BATCH):
        if stored:
            by_row.update(map(_first_four, batch))
            codes.add_stored(list(map(_first, batch)), _stored_or_decoded(batch, 4, dimensions))
            continue
        copies = list(map(_fifth, batch))
        if demographic:
            keys, matrix = arrays.batch_of(group, [], copies)
            by_row.update(zip(keys, map(_second_to_fourth, batch), strict=True))
        else:
            keys, matrix = list(map(_first, batch)), arrays.matrix_of(copies)
            by_row.update(map(_first_four, batch))
        codes.add(keys, matrix)
    responses: Counter[ResponseKey] = Counter()
    periods: dict[Any, dt.date] = {}
    for counted, n in by_row.items():
        key, (primary, crisis, day) = counted if demographic else (counted[0], counted[1:])
        if day not in periods:
            periods[day] = start_of(as_date(day), unit)
        responses[(key, primary, crisis, periods[day])] += n
    return ResponseCounts(responses, codes.counter())


_STORED = (
    _table.research_codes,
    case((_table.research_codes.is_(None), _table.research_answers)).label("copy"),
)
"""The stored codes, and the research copy only where there are none."""


def _stored_or_decoded(
    batch: Sequence[tuple[Any, ...]], at: int, dimensions: Sequence[PackedDimension]
) -> list[bytes]:
    """Each row's stored codes (column ``at``), or for a row without them (stored before
    its version was loaded) the codes of its copy (column ``at + 1``)."""
    if all(row[at] is not None for row in batch):
        return [row[at] for row in batch]
    coder = Coder(dimensions)
    return [row[at] if row[at] is not None else coder.codes(bytes(row[at + 1])) for row in batch]


_first = itemgetter(0)
_second = itemgetter(1)
_first_four = itemgetter(0, 1, 2, 3)
_second_to_fourth = itemgetter(1, 2, 3)
_fifth = itemgetter(4)


def counted_in_database(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    unit: PeriodUnit | None,
    dimensions: Sequence[PackedDimension],
    *,
    stored: bool = False,
) -> ResponseCounts:
    """PostgreSQL: what :func:`streamed_counts` counts (only the codes without ``unit``),
    counted by the database in one ``GROUP BY GROUPING SETS`` over the research index
    (:func:`app.repositories.research_sql.grouped_counts`); only the counts reach Python.

    ``stored``: ``dimensions`` are the covered version's own, in its order
    (:func:`app.repositories.research_codes.packed_dimensions`), so the codes stored at
    submission are counted; otherwise each code is computed from the research copy."""
    column: ColumnElement[Any] | None = None
    if isinstance(group, DemographicGroups):
        column = answer_byte(group.position)
    elif group is not None:
        column = GROUP_COLUMNS[group]
    keys: list[ColumnElement[Any]] = []
    if unit is not None:
        keys = [_table.primary_tendency, _table.crisis_level, period_start("postgresql", unit)]
    statement = grouped_counts(where.conditions(), column, keys, dimensions, stored=stored)
    connection = session.connection()
    with counting_settings(connection):
        rows = connection.execute(statement).all()
    responses: Counter[ResponseKey] = Counter()
    codes: Counter[tuple[GroupKey, int, int]] = Counter()
    widths: set[int] = set()
    names: dict[Any, GroupKey] = {}
    for row in rows:
        which, raw, count = int(row[0]), row[1], int(row[-1])
        width = row[2 + len(keys)]
        if raw not in names:
            names[raw] = group.key(int(raw)) if isinstance(group, DemographicGroups) else raw
        name = names[raw]
        widths.add(int(width))
        if which < 0:
            primary, crisis, start = row[2 : 2 + len(keys)]
            responses[(name, primary, crisis, as_date(start))] += count
        else:
            codes[(name, which, int.from_bytes(row[3 + len(keys)], "big"))] += count
    if len(widths) > 1:
        raise ValueError("research copies of different layouts under one content hash")
    return ResponseCounts(responses, codes)


def _row_batches(
    session: Session, statement: Select[Any], size: int
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """The rows of ``statement``, ``size`` at a time. SQLite's rows come a batch at a time
    straight from the driver's cursor, as plain tuples; PostgreSQL's
    from :func:`stream`, whose query the server may run in parallel."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        yield from batches(connection, statement, size)
        return
    rows = stream(connection, statement, size)
    while batch := list(islice(rows, size)):
        yield batch


def item_tallies(
    session: Session, where: ResponseFilter, dimensions: Sequence[PackedDimension]
) -> ItemTallies:
    """Answer counts per item and point, complete-case sums per dimension and the sums behind
    the score correlations, in one pass over the research copies, batch by batch, each
    batch's copies concatenated by the database: on SQLite a range of submission times at a
    time (:func:`app.repositories.research_days.copies_in_ranges`), on PostgreSQL a day at a
    time (:func:`app.repositories.research_pg_days.copies_by_day`), the two halves of the
    days side by side (:func:`app.repositories.research_pg_days.tallies_by_day`)."""
    from app.repositories import research_arrays as arrays

    if _dialect(session) == "postgresql":
        return research_pg_days.tallies_by_day(
            session.connection(), where, dimensions, _ANSWER_BATCH, copies_by_day
        )
    sums = arrays.AnswerSums(dimensions)
    for matrix in copies_in_ranges(session.connection(), where, _ANSWER_BATCH):
        sums.add(matrix)
    return sums.tallies()


def streamed_tallies(
    session: Session, where: ResponseFilter, dimensions: Sequence[PackedDimension]
) -> ItemTallies:
    """:func:`item_tallies` from the research copies streamed a row at a time (either
    database)."""
    from app.repositories import research_arrays as arrays

    sums = arrays.AnswerSums(dimensions)
    for _groups, matrix in _answer_batches(session, where, None):
        sums.add(matrix)
    return sums.tallies()
