"""Queries for the research exports: counts from the database, sums from research copies.

Only responses that are submitted, whose respondent opted in to research, that belong to the
questionnaire with exactly the content hash being described, and (when asked) to the given
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

What differs between SQLite and PostgreSQL lives in :mod:`app.repositories.research_sql`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, literal_column, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.models import ResponseSession
from app.repositories.research_scope import (
    CompleteCaseSums,
    DemographicGroups,
    GroupBy,
    Grouping,
    GroupKey,
    ItemTallies,
    PackedDimension,
    ResponseFilter,
    ScoreSums,
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
from scoring import answer_copy

_BATCH = 10_000
_ANSWER_BATCH = 5_000
"""Research copies decoded at a time: what bounds the memory an export needs."""
_COUNT_BATCH = 2_000
"""Rows fetched and counted at a time by :func:`response_counts`, whose rows carry four more
values than a research copy's: smaller batches keep its memory as flat."""
_table = ResponseSession.__table__.c  # type: ignore[attr-defined]
_GROUP_COLUMNS: dict[GroupBy, ColumnElement[Any]] = {
    "study": _table.study,
    "language": _table.language,
    "country": _table.country,
    "tendency": _table.primary_tendency,
}


def _dialect(session: Session) -> Dialect:
    return dialect_of(session.get_bind().dialect.name)


def _rows(
    session: Session, statement: Select[Any], batch: int = _BATCH
) -> Iterator[tuple[Any, ...]]:
    return stream(session.connection(), statement, batch)


def _answer_batches(
    session: Session, where: ResponseFilter, group: Grouping | None
) -> Iterator[tuple[list[GroupKey], npt.NDArray[np.uint8]]]:
    """The covered responses' research copies of their answers, a batch at a time: the
    group of each row, and a matrix with a row per response and a column per byte."""
    column = _GROUP_COLUMNS[group] if isinstance(group, str) else literal_column("NULL")
    statement = select(column.label("grp"), _table.research_answers).where(*where.conditions())
    groups: list[GroupKey] = []
    copies: list[bytes] = []
    for group_key, copy in _rows(session, statement):
        groups.append(group_key)
        copies.append(bytes(copy))
        if len(copies) == _ANSWER_BATCH:
            yield _batch(group, groups, copies)
            groups, copies = [], []
    if copies:
        yield _batch(group, groups, copies)


def _batch(
    group: Grouping | None, groups: list[GroupKey], copies: list[bytes]
) -> tuple[list[GroupKey], npt.NDArray[np.uint8]]:
    """A batch as a matrix, with its groups read from the matrix when they are a
    demographic item's answers."""
    matrix = _matrix(copies)
    if isinstance(group, DemographicGroups):
        groups = [group.key(place) for place in matrix[:, group.position].tolist()]
    return groups, matrix


def _matrix(copies: list[bytes]) -> npt.NDArray[np.uint8]:
    width = len(copies[0])
    joined = b"".join(copies)
    if len(joined) != width * len(copies):
        raise ValueError("research copies of different layouts under one content hash")
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(copies), width)


@dataclass(frozen=True, slots=True)
class _Decoded:
    """One dimension of a batch: which items were answered, their keyed values (0 where not
    answered), and per response the number answered and the sum of the keyed values."""

    answered: npt.NDArray[np.bool_]
    keyed: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    total: npt.NDArray[np.int64]


def _decode(matrix: npt.NDArray[np.uint8], dimension: PackedDimension) -> _Decoded:
    places = matrix[:, [item.position for item in dimension.items]].astype(np.int64)
    low = np.array([item.low for item in dimension.items], dtype=np.int64)
    high = np.array([item.high for item in dimension.items], dtype=np.int64)
    reverse = np.array([item.reverse for item in dimension.items], dtype=np.bool_)
    answered = places != answer_copy.NOT_ANSWERED
    value = places - answer_copy.FIRST_PLACE + low
    # Reverse keying as in the scoring engine: low + high - x.
    keyed = np.where(answered, np.where(reverse, low + high - value, value), 0)
    return _Decoded(answered, keyed, answered.sum(axis=1), keyed.sum(axis=1))


def dimension_codes(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    dimensions: Sequence[PackedDimension],
) -> Counter[tuple[GroupKey, int, int]]:
    """How many responses (per group) have each packed code on each dimension:
    ``(group, dimension index, code) -> count``.

    The research copies stream past in batches and are decoded and counted batch by batch;
    the counter holds at most one entry per group, dimension and possible (sum, answered)
    pair, however many responses there are. On PostgreSQL the database counts them
    (:func:`counted_in_database`).
    """
    if _dialect(session) == "postgresql":
        return counted_in_database(session, where, group, None, dimensions).codes
    return streamed_codes(session, where, group, dimensions)


def streamed_codes(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    dimensions: Sequence[PackedDimension],
) -> Counter[tuple[GroupKey, int, int]]:
    """:func:`dimension_codes` counted in Python from the streamed research copies (either
    database)."""
    codes = _CodeCounts(dimensions)
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
) -> ResponseCounts:
    """Responses per (group, primary tendency, crisis level, period), and the packed codes
    of every dimension per group, in ONE pass over the research index.

    Every column read is in the research index, so the pass reads the index only, as the
    plain aggregate does. On PostgreSQL the database counts (:func:`counted_in_database`);
    on SQLite the rows are streamed and counted in Python (:func:`streamed_counts`).
    """
    if _dialect(session) == "postgresql":
        return counted_in_database(session, where, group, unit, dimensions)
    return streamed_counts(session, where, group, unit, dimensions)


def streamed_counts(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    unit: PeriodUnit,
    dimensions: Sequence[PackedDimension],
) -> ResponseCounts:
    """:func:`response_counts` counted in Python (either database). Rows are taken a batch
    at a time: the keys are counted with a :class:`Counter` over the batch's tuples, the
    copies decoded with numpy, so memory holds one batch and counters whose size is bounded
    by the questionnaire, the groups and the periods, never by the number of responses."""
    dialect = _dialect(session)
    column = _GROUP_COLUMNS[group] if isinstance(group, str) else literal_column("NULL")
    statement = select(
        column.label("grp"),
        _table.primary_tendency,
        _table.crisis_level,
        counted_day(dialect).label("day"),
        _table.research_answers,
    ).where(*where.conditions())
    by_row: Counter[tuple[Any, ...]] = Counter()
    codes = _CodeCounts(dimensions)
    demographic = isinstance(group, DemographicGroups)
    for batch in _row_batches(session, statement, _COUNT_BATCH):
        copies = list(map(_fifth, batch))
        if demographic:
            keys, matrix = _batch(group, [], copies)
            by_row.update(zip(keys, map(_second_to_fourth, batch), strict=True))
        else:
            keys, matrix = list(map(_first, batch)), _matrix(copies)
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


_first = itemgetter(0)
_first_four = itemgetter(0, 1, 2, 3)
_second_to_fourth = itemgetter(1, 2, 3)
_fifth = itemgetter(4)


def counted_in_database(
    session: Session,
    where: ResponseFilter,
    group: Grouping | None,
    unit: PeriodUnit | None,
    dimensions: Sequence[PackedDimension],
) -> ResponseCounts:
    """PostgreSQL: what :func:`streamed_counts` counts (only the codes without ``unit``),
    counted by the database in one ``GROUP BY GROUPING SETS`` over the research index
    (:func:`app.repositories.research_sql.grouped_counts`); only the counts reach Python."""
    column: ColumnElement[Any] | None = None
    if isinstance(group, DemographicGroups):
        column = answer_byte(group.position)
    elif group is not None:
        column = _GROUP_COLUMNS[group]
    keys: list[ColumnElement[Any]] = []
    if unit is not None:
        keys = [_table.primary_tendency, _table.crisis_level, period_start("postgresql", unit)]
    statement = grouped_counts(where.conditions(), column, keys, dimensions)
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
            codes[(name, which, int(row[3 + len(keys)]))] += count
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


class _CodeCounts:
    """Responses per group, dimension and packed code, as one array of counts per dimension
    (a row per group, a column per possible code): a batch is counted with ``bincount``,
    in time linear in its rows, and the arrays' size is bounded by the groups and the
    questionnaire, never by the number of responses."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        self.dimensions = dimensions
        self.spans = [d.base * (len(d.items) + 1) for d in dimensions]
        self.numbering: dict[GroupKey, int] = {}
        self.counts = [np.zeros((0, span), dtype=np.int64) for span in self.spans]

    def add(self, groups: Sequence[GroupKey], matrix: npt.NDArray[np.uint8]) -> None:
        numbering = self.numbering
        for name in dict.fromkeys(groups):  # in order of first appearance
            numbering.setdefault(name, len(numbering))
        group_index = np.fromiter(map(numbering.__getitem__, groups), np.int64, len(groups))
        size = len(numbering)
        for index, dimension in enumerate(self.dimensions):
            span = self.spans[index]
            decoded = _decode(matrix, dimension)
            codes = dimension.code(decoded.total, decoded.count)
            found = np.bincount(group_index * span + codes, minlength=size * span)
            counts = self.counts[index]
            if len(counts) < size:
                grown = np.zeros((size, span), dtype=np.int64)
                grown[: len(counts)] = counts
                counts = self.counts[index] = grown
            counts += found.reshape(size, span)

    def counter(self) -> Counter[tuple[GroupKey, int, int]]:
        names = list(self.numbering)
        result: Counter[tuple[GroupKey, int, int]] = Counter()
        for index, counts in enumerate(self.counts):
            for row, code in zip(*np.nonzero(counts), strict=True):
                result[(names[int(row)], index, int(code))] = int(counts[row, code])
        return result


class _Sums:
    """Running exact integer sums for :func:`item_tallies`."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        self.dimensions = dimensions
        self.n = 0
        self.answers = [[0] * (item.high - item.low + 1) for d in dimensions for item in d.items]
        self.complete = [[0] * (3 + 3 * len(d.items)) for d in dimensions]
        self.scored = 0
        self.sums = [{c: [0, 0] for c in range(d.needed, len(d.items) + 1)} for d in dimensions]
        self.pairs = [(a, b) for a in range(len(dimensions)) for b in range(a + 1, len(dimensions))]
        self.products = {
            (a, b): {
                (ca, cb): 0
                for ca in range(dimensions[a].needed, len(dimensions[a].items) + 1)
                for cb in range(dimensions[b].needed, len(dimensions[b].items) + 1)
            }
            for a, b in self.pairs
        }

    def add(self, matrix: npt.NDArray[np.uint8]) -> None:
        self.n += len(matrix)
        slot = 0
        for dimension in self.dimensions:
            for item in dimension.items:
                points = item.high - item.low + 1
                chosen = np.bincount(matrix[:, item.position], minlength=points + 1)[1:]
                self.answers[slot] = [
                    a + int(b) for a, b in zip(self.answers[slot], chosen, strict=True)
                ]
                slot += 1
        decoded = [_decode(matrix, dimension) for dimension in self.dimensions]
        for index, part in enumerate(decoded):
            self._add_complete(index, part)
        scored = np.logical_and.reduce(
            [part.count >= d.needed for part, d in zip(decoded, self.dimensions, strict=True)]
        )
        self.scored += int(scored.sum())
        for index, part in enumerate(decoded):
            for c, pair in self.sums[index].items():
                chosen_rows = part.total[scored & (part.count == c)]
                pair[0] += int(chosen_rows.sum())
                pair[1] += int((chosen_rows * chosen_rows).sum())
        for a, b in self.pairs:
            first, second = decoded[a], decoded[b]
            product = first.total * second.total
            for ca, cb in self.products[(a, b)]:
                rows = scored & (first.count == ca) & (second.count == cb)
                self.products[(a, b)][(ca, cb)] += int(product[rows].sum())

    def _add_complete(self, index: int, part: _Decoded) -> None:
        keyed = part.keyed[part.answered.all(axis=1)]
        total = keyed.sum(axis=1)
        block = [len(keyed), int(total.sum()), int((total * total).sum())]
        item_sums = keyed.sum(axis=0)
        item_squares = (keyed * keyed).sum(axis=0)
        item_total = (keyed * total[:, None]).sum(axis=0)
        for i in range(keyed.shape[1]):
            block += [int(item_sums[i]), int(item_squares[i]), int(item_total[i])]
        self.complete[index] = [a + b for a, b in zip(self.complete[index], block, strict=True)]

    def tallies(self) -> ItemTallies:
        answers: dict[str, dict[int, int]] = {}
        slot = 0
        for dimension in self.dimensions:
            for item in dimension.items:
                answers[item.id] = {
                    item.low + offset: count for offset, count in enumerate(self.answers[slot])
                }
                slot += 1
        complete = {
            dimension.id: CompleteCaseSums(
                n=block[0],
                total=block[1],
                total_squares=block[2],
                item_sums=tuple(block[3::3]),
                item_squares=tuple(block[4::3]),
                item_total=tuple(block[5::3]),
            )
            for dimension, block in zip(self.dimensions, self.complete, strict=True)
        }
        scores = ScoreSums(
            n=self.scored,
            sums=tuple({c: (s, q) for c, (s, q) in by_count.items()} for by_count in self.sums),
            products=self.products,
        )
        return ItemTallies(n=self.n, answers=answers, complete=complete, scores=scores)


def item_tallies(
    session: Session, where: ResponseFilter, dimensions: Sequence[PackedDimension]
) -> ItemTallies:
    """Answer counts per item and point, complete-case sums per dimension and the sums behind
    the score correlations, in one pass over the research copies, batch by batch."""
    sums = _Sums(dimensions)
    for _groups, matrix in _answer_batches(session, where, None):
        sums.add(matrix)
    return sums.tallies()
