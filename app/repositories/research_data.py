"""Queries for the research exports: counts from the database, sums from research copies.

Only responses that are submitted, whose respondent opted in to research, that belong to the
questionnaire with exactly the content hash being described, and (when asked) to the given
studies and submission dates are counted; an erased response is a deleted row, so it is gone
from every later export. Counts per category and period are grouped in the database. The
statistics of the answers come from each response's research copy (one byte per item, see
:mod:`scoring.answer_copy`): the copies stream out of the research index in
batches and are added up with numpy, so memory holds one batch and the running sums, never
every response. Every result is bounded by the questionnaire and the number of groups and
periods, not by the number of responses, and every sum is an exact integer.

Groups are a column of the response (study, language, country, primary tendency) or the answer
to a demographic item, read from its byte in the research copy: in the database when counting,
from the decoded batch when adding up answers.

What differs between SQLite and PostgreSQL lives in :mod:`app.repositories.research_sql`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, func, literal_column, select
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
    as_place,
    dialect_of,
    grouping_key,
    period_start,
    stream,
)
from app.schemas.research import PeriodUnit
from scoring import answer_copy

CountedField = Literal["primary_tendency", "crisis_level"]
_BATCH = 10_000
_ANSWER_BATCH = 5_000
"""Research copies decoded at a time: what bounds the memory an export needs."""
_table = ResponseSession.__table__.c  # type: ignore[attr-defined]
_GROUP_COLUMNS: dict[GroupBy, ColumnElement[Any]] = {
    "study": _table.study,
    "language": _table.language,
    "country": _table.country,
    "tendency": _table.primary_tendency,
}


def _dialect(session: Session) -> Dialect:
    return dialect_of(session.get_bind().dialect.name)


def _group_key(dialect: Dialect, group: Grouping | None) -> ColumnElement[Any]:
    """The group column as the counting queries group by it."""
    if group is None:
        return literal_column("NULL")
    if isinstance(group, DemographicGroups):
        return answer_byte(dialect, group.position)
    return grouping_key(_GROUP_COLUMNS[group])


def _group_name(group: Grouping | None, value: Any) -> GroupKey:
    """A group as the counting queries return it, named as the exports show it."""
    if isinstance(group, DemographicGroups):
        return group.key(as_place(value))
    return None if value is None else str(value)


def _rows(session: Session, statement: Select[Any]) -> Iterator[tuple[Any, ...]]:
    return stream(session.connection(), statement, _BATCH)


def count_by(
    session: Session, where: ResponseFilter, group: Grouping | None, counted: CountedField
) -> dict[tuple[GroupKey, str | None], int]:
    """Responses per (group, value of ``counted``)."""
    value = _table.primary_tendency if counted == "primary_tendency" else _table.crisis_level
    statement = (
        select(
            _group_key(_dialect(session), group).label("grp"),
            grouping_key(value).label("val"),
            func.count(),
        )
        .where(*where.conditions())
        .group_by(literal_column("grp"), literal_column("val"))
    )
    return {
        (_group_name(group, group_value), value): int(n)
        for group_value, value, n in _rows(session, statement)
    }


def count_by_period(
    session: Session, where: ResponseFilter, group: Grouping | None, unit: PeriodUnit
) -> dict[tuple[GroupKey, dt.date], int]:
    """Responses per (group, first day of the ISO week or month of submission)."""
    statement = (
        select(
            _group_key(_dialect(session), group).label("grp"),
            period_start(_dialect(session), unit).label("period"),
            func.count().label("n"),
        )
        .where(*where.conditions())
        .group_by(literal_column("grp"), literal_column("period"))
    )
    counts: dict[tuple[GroupKey, dt.date], int] = {}
    for group_value, period, n in _rows(session, statement):
        key = (_group_name(group, group_value), as_date(period))
        counts[key] = counts.get(key, 0) + int(n)
    return counts


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
    pair, however many responses there are.
    """
    counts: Counter[tuple[GroupKey, int, int]] = Counter()
    numbering: dict[GroupKey, int] = {}
    for groups, matrix in _answer_batches(session, where, group):
        group_index = np.fromiter(
            (numbering.setdefault(g, len(numbering)) for g in groups), np.int64, len(groups)
        )
        names = list(numbering)
        for index, dimension in enumerate(dimensions):
            decoded = _decode(matrix, dimension)
            codes = dimension.code(decoded.total, decoded.count)
            span = dimension.base * (len(dimension.items) + 1)
            keys, tallies = np.unique(group_index * span + codes, return_counts=True)
            for key, tally in zip(keys.tolist(), tallies.tolist(), strict=True):
                counts[(names[key // span], index, key % span)] += tally
    return counts


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
