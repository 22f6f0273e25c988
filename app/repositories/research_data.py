"""Queries for the research exports: the database counts and sums, Python never sees a row.

Only responses that are submitted, whose respondent opted in to research, that belong to the
questionnaire with exactly the content hash being described, and (when asked) to the given
studies and submission dates are counted; an erased response is a deleted row, so it is gone
from every later export. Every query returns aggregates: counts per category, sums of answers
and of their products, or, for the dimension scores, how many responses share each exact
(keyed sum, items answered) pair. The size of every result is bounded by the questionnaire
and the number of groups and periods, not by the number of responses; where rows do pass
through (the dimension codes), they stream in batches and are counted as they go.

What differs between SQLite and PostgreSQL lives in :mod:`app.repositories.research_sql`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Integer, Select, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.models import ResponseSession, ResponseStatus
from app.repositories.research_sql import (
    AnswerColumns,
    Dialect,
    PeriodUnit,
    answer_columns,
    as_date,
    dialect_of,
    period_start,
    stream,
)

GroupBy = Literal["study", "language", "country", "tendency"]
CountedField = Literal["primary_tendency", "crisis_level"]
GroupKey = str | None

_BATCH = 10_000
_table = ResponseSession.__table__.c  # type: ignore[attr-defined]
_GROUP_COLUMNS: dict[GroupBy, ColumnElement[Any]] = {
    "study": _table.study,
    "language": _table.language,
    "country": _table.country,
    "tendency": _table.primary_tendency,
}


def _int(value: int) -> ColumnElement[int]:
    """An integer written into the SQL text, so that grouped expressions carry no parameters."""
    return literal_column(str(int(value)), Integer)


@dataclass(frozen=True, slots=True)
class ResponseFilter:
    """Which responses an export covers (all conditions together)."""

    questionnaire_id: str
    questionnaire_hash: str
    studies: tuple[str, ...] | None = None
    """``None``: every response whatever its study (or none); otherwise only these studies."""
    submitted_from: dt.datetime | None = None
    """Inclusive lower bound of the submission time (UTC)."""
    submitted_before: dt.datetime | None = None
    """Exclusive upper bound of the submission time (UTC)."""

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [
            _table.questionnaire_id == self.questionnaire_id,
            _table.questionnaire_hash == self.questionnaire_hash,
            _table.research_consent.is_(True),
            _table.status == ResponseStatus.submitted.value,
        ]
        if self.studies is not None:
            conditions.append(_table.study.in_(self.studies))
        if self.submitted_from is not None:
            conditions.append(_table.submitted_at >= self.submitted_from)
        if self.submitted_before is not None:
            conditions.append(_table.submitted_at < self.submitted_before)
        return conditions


@dataclass(frozen=True, slots=True)
class ScoredItem:
    """An item as the scoring rules see it: its scale and whether it is reverse-keyed."""

    id: str
    reverse: bool
    low: int
    high: int

    def keyed(self, raw: ColumnElement[Any]) -> ColumnElement[Any]:
        """Reverse keying, ``low + high - x``, as in the scoring engine."""
        return (_int(self.low + self.high) - raw) if self.reverse else raw


@dataclass(frozen=True, slots=True)
class PackedDimension:
    """One dimension's answers packed into one integer per response.

    Each answered item adds ``keyed - floor + base``, an unanswered item adds 0, where
    ``floor`` is the lowest point of any of the dimension's scales and ``base`` exceeds the
    largest possible sum of ``keyed - floor``. So ``code // base`` is the number of items
    answered and ``code % base + floor * answered`` the sum of the keyed answers: one
    expression per dimension carries both, and grouping by it is exact.
    """

    id: str
    items: tuple[ScoredItem, ...]

    @property
    def floor(self) -> int:
        return min(item.low for item in self.items)

    @property
    def base(self) -> int:
        return sum(item.high - self.floor for item in self.items) + 1

    def expression(self, answers: AnswerColumns) -> ColumnElement[Any]:
        terms = [
            func.coalesce(
                item.keyed(answers.items[item.id]) + _int(self.base - self.floor), _int(0)
            )
            for item in self.items
        ]
        total: ColumnElement[Any] = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def decode(self, code: int) -> tuple[int, int]:
        """``(sum of keyed answers, number of items answered)`` of a packed code."""
        answered, rest = divmod(int(code), self.base)
        return rest + self.floor * answered, answered


@dataclass(frozen=True, slots=True)
class CompleteCaseSums:
    """Sums over the responses that answered every item of a dimension (keyed values).

    ``item_sums[i] = sum x_i``, ``item_squares[i] = sum x_i^2``, ``item_total[i] = sum x_i T``
    where ``T`` is the sum of the dimension's keyed items.
    """

    n: int
    item_sums: tuple[int, ...]
    item_squares: tuple[int, ...]
    item_total: tuple[int, ...]
    total: int
    total_squares: int


@dataclass(frozen=True, slots=True)
class DimensionSums:
    """Sums of the dimensions' keyed sums ``S_d`` over the responses that answered the same
    number of items ``C_d`` of every dimension (``answered``): exact integers, from which the
    moments of the scores ``S_d / C_d`` follow exactly."""

    answered: tuple[int, ...]
    n: int
    sums: tuple[int, ...]
    products: dict[tuple[int, int], int]
    """``(a, b) -> sum S_a S_b`` for ``a <= b`` (``a == b``: the sum of squares)."""


@dataclass(frozen=True, slots=True)
class ItemTallies:
    """Per item, how often each point of its scale was chosen (the raw answer, not keyed); per
    dimension, the complete-case sums; and the dimension sums per answered-count combination."""

    answers: dict[str, dict[int, int]] = field(default_factory=dict)
    complete: dict[str, CompleteCaseSums] = field(default_factory=dict)
    dimensions: list[DimensionSums] = field(default_factory=list)


def _dialect(session: Session) -> Dialect:
    return dialect_of(session.get_bind().dialect.name)


def _group_column(group: GroupBy | None) -> ColumnElement[Any]:
    return _GROUP_COLUMNS[group] if group is not None else literal_column("NULL")


def _rows(session: Session, statement: Select[Any]) -> Iterator[tuple[Any, ...]]:
    return stream(session.connection(), statement, _BATCH)


def count_by(
    session: Session, where: ResponseFilter, group: GroupBy | None, counted: CountedField
) -> dict[tuple[GroupKey, str | None], int]:
    """Responses per (group, value of ``counted``)."""
    value = _table.primary_tendency if counted == "primary_tendency" else _table.crisis_level
    statement = (
        select(_group_column(group).label("grp"), value.label("val"), func.count().label("n"))
        .where(*where.conditions())
        .group_by(literal_column("grp"), literal_column("val"))
    )
    return {(group_key, value): int(n) for group_key, value, n in _rows(session, statement)}


def count_by_period(
    session: Session, where: ResponseFilter, group: GroupBy | None, unit: PeriodUnit
) -> dict[tuple[GroupKey, dt.date], int]:
    """Responses per (group, first day of the ISO week or month of submission)."""
    statement = (
        select(
            _group_column(group).label("grp"),
            period_start(_dialect(session), unit).label("period"),
            func.count().label("n"),
        )
        .where(*where.conditions())
        .group_by(literal_column("grp"), literal_column("period"))
    )
    counts: dict[tuple[GroupKey, dt.date], int] = {}
    for group_key, period, n in _rows(session, statement):
        key = (group_key, as_date(period))
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def dimension_codes(
    session: Session,
    where: ResponseFilter,
    group: GroupBy | None,
    dimensions: Sequence[PackedDimension],
) -> Counter[tuple[GroupKey, int, int]]:
    """How many responses (per group) have each packed code on each dimension:
    ``(group, dimension index, code) -> count``.

    The database computes one code per dimension and response; the counting happens here, as
    the codes stream past, because SQLite can only group by sorting, which costs more than
    reading the answers. The counter holds at most one entry per group, dimension and possible
    (sum, answered) pair, however many responses there are.
    """
    answers = answer_columns(_dialect(session), [item.id for d in dimensions for item in d.items])
    statement = answers.join_into(
        select(
            _group_column(group).label("grp"),
            *(d.expression(answers).label(f"d{index}") for index, d in enumerate(dimensions)),
        ).select_from(ResponseSession)
    ).where(*where.conditions())
    counts: Counter[tuple[GroupKey, int, int]] = Counter()
    batch: list[tuple[Any, ...]] = []
    for row in _rows(session, statement):
        batch.append(row)
        if len(batch) == _BATCH:
            _count_codes(counts, batch, len(dimensions))
            batch = []
    _count_codes(counts, batch, len(dimensions))
    return counts


def _count_codes(
    counts: Counter[tuple[GroupKey, int, int]], batch: list[tuple[Any, ...]], dimensions: int
) -> None:
    for index in range(dimensions):
        counts.update((row[0], index, row[index + 1]) for row in batch)


def item_tallies(
    session: Session, where: ResponseFilter, dimensions: Sequence[PackedDimension]
) -> ItemTallies:
    """Answer counts per item and point, and complete-case sums per dimension, in one pass."""
    items = [item for d in dimensions for item in d.items]
    answers = answer_columns(_dialect(session), [item.id for item in items])
    raw_name = {item.id: f"x{index}" for index, item in enumerate(items)}
    # Two inner queries, each fenced with OFFSET 0 so that neither database merges it into the
    # query above it: the first reads each answer out of the JSON once per row, the second
    # derives the keyed values and complete-case flags once per row, and the outer query only
    # adds up columns. Merged, every aggregate would read the JSON again.
    read_once = (
        answers.join_into(
            select(
                *(answers.items[item.id].label(raw_name[item.id]) for item in items)
            ).select_from(ResponseSession)
        )
        .where(*where.conditions())
        .offset(0)
        .subquery("answered")
    )
    raw = read_once.c
    derived: list[ColumnElement[Any]] = [raw[raw_name[item.id]] for item in items]
    for d_index, dimension in enumerate(dimensions):
        complete = _all_answered([raw[raw_name[item.id]] for item in dimension.items])
        keyed = [item.keyed(raw[raw_name[item.id]]) for item in dimension.items]
        total = _added(keyed)
        derived.append(case((complete, _int(1)), else_=_int(0)).label(f"c{d_index}"))
        derived.append(case((complete, total)).label(f"t{d_index}"))
        for i_index, value in enumerate(keyed):
            derived.append(case((complete, value)).label(f"k{d_index}_{i_index}"))
        answered = [
            case((raw[raw_name[item.id]].is_(None), _int(0)), else_=_int(1))
            for item in dimension.items
        ]
        keyed_or_zero = [func.coalesce(value, _int(0)) for value in keyed]
        derived.append(_added(answered).label(f"a{d_index}"))
        derived.append(_added(keyed_or_zero).label(f"s{d_index}"))
    c = select(*derived).select_from(read_once).offset(0).subquery("per_response").c

    group_keys = [c[f"a{d_index}"] for d_index in range(len(dimensions))]
    aggregates: list[ColumnElement[Any]] = [func.count()]
    answer_slots: list[tuple[str, int]] = []
    for item in items:
        for point in range(item.low, item.high + 1):
            hit = c[raw_name[item.id]] == _int(point)
            aggregates.append(func.sum(case((hit, _int(1)), else_=_int(0))))
            answer_slots.append((item.id, point))
    for d_index, dimension in enumerate(dimensions):
        t = c[f"t{d_index}"]
        aggregates += [func.sum(c[f"c{d_index}"]), func.sum(t), func.sum(t * t)]
        for i_index in range(len(dimension.items)):
            k = c[f"k{d_index}_{i_index}"]
            aggregates += [func.sum(k), func.sum(k * k), func.sum(k * t)]
    pairs = [(a, b) for a in range(len(dimensions)) for b in range(a, len(dimensions))]
    aggregates += [func.sum(c[f"s{a}"]) for a in range(len(dimensions))]
    aggregates += [func.sum(c[f"s{a}"] * c[f"s{b}"]) for a, b in pairs]
    statement = select(*group_keys, *aggregates).group_by(*group_keys)

    answer_totals = [0] * len(answer_slots)
    complete_totals: list[list[int]] = [[0] * (3 + 3 * len(d.items)) for d in dimensions]
    tallies = ItemTallies()
    for row in session.connection().execute(statement):
        values = [int(v) if v is not None else 0 for v in row]
        keys, values = values[: len(dimensions)], values[len(dimensions) :]
        n, values = values[0], values[1:]
        for index in range(len(answer_slots)):
            answer_totals[index] += values[index]
        position = len(answer_slots)
        for d_index, dimension in enumerate(dimensions):
            width = 3 + 3 * len(dimension.items)
            block = values[position : position + width]
            position += width
            complete_totals[d_index] = [
                a + b for a, b in zip(complete_totals[d_index], block, strict=True)
            ]
        sums = tuple(values[position : position + len(dimensions)])
        position += len(dimensions)
        products = dict(zip(pairs, values[position : position + len(pairs)], strict=True))
        tallies.dimensions.append(DimensionSums(tuple(keys), n, sums, products))

    for (item_id, point), count in zip(answer_slots, answer_totals, strict=True):
        tallies.answers.setdefault(item_id, {})[point] = count
    for dimension, block in zip(dimensions, complete_totals, strict=True):
        tallies.complete[dimension.id] = CompleteCaseSums(
            n=block[0],
            total=block[1],
            total_squares=block[2],
            item_sums=tuple(block[3::3]),
            item_squares=tuple(block[4::3]),
            item_total=tuple(block[5::3]),
        )
    return tallies


def _added(terms: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _all_answered(values: Sequence[ColumnElement[Any]]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = values[0].is_not(None)
    for value in values[1:]:
        condition = condition & value.is_not(None)
    return condition
