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
from dataclasses import dataclass
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
    grouping_key,
    groups_in_database,
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
    needed: int
    """The fewest items answered for the dimension to be scored."""

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
class ScoreSums:
    """Exact integer sums behind the correlations of the dimension scores, over the responses
    scored on every dimension. A score is ``S_d / C_d`` (keyed sum over items answered), so
    the sums are kept per number answered: ``sums[d][c] = (sum S_d, sum S_d^2)`` over those
    with ``C_d = c``, and ``products[(a, b)][(ca, cb)] = sum S_a S_b`` over those with
    ``C_a = ca`` and ``C_b = cb``."""

    n: int
    sums: tuple[dict[int, tuple[int, int]], ...]
    products: dict[tuple[int, int], dict[tuple[int, int], int]]


@dataclass(frozen=True, slots=True)
class ItemTallies:
    """Per item, how often each point of its scale was chosen (the raw answer, not keyed); per
    dimension, the complete-case sums; and the sums for the correlations of the scores."""

    n: int
    answers: dict[str, dict[int, int]]
    complete: dict[str, CompleteCaseSums]
    scores: ScoreSums


def _dialect(session: Session) -> Dialect:
    return dialect_of(session.get_bind().dialect.name)


def _group_column(group: GroupBy | None) -> ColumnElement[Any]:
    return _GROUP_COLUMNS[group] if group is not None else literal_column("NULL")


def _group_key(group: GroupBy | None) -> ColumnElement[Any]:
    """The group column as the counting queries group by it."""
    return grouping_key(_GROUP_COLUMNS[group]) if group is not None else literal_column("NULL")


def _rows(session: Session, statement: Select[Any]) -> Iterator[tuple[Any, ...]]:
    return stream(session.connection(), statement, _BATCH)


def count_by(
    session: Session, where: ResponseFilter, group: GroupBy | None, counted: CountedField
) -> dict[tuple[GroupKey, str | None], int]:
    """Responses per (group, value of ``counted``)."""
    value = _table.primary_tendency if counted == "primary_tendency" else _table.crisis_level
    statement = (
        select(_group_key(group).label("grp"), grouping_key(value).label("val"), func.count())
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
            _group_key(group).label("grp"),
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

    The database computes one code per dimension and response. It also groups equal codes
    where it does that well (see :func:`groups_in_database`); otherwise the codes stream out
    and are counted here as they pass. Either way the counter holds at most one entry per
    group, dimension and possible (sum, answered) pair, however many responses there are.
    """
    dialect = _dialect(session)
    answers = answer_columns(dialect, [item.id for d in dimensions for item in d.items])
    labels = [f"d{index}" for index in range(len(dimensions))]
    columns = [
        _group_column(group).label("grp"),
        *(d.expression(answers).label(label) for d, label in zip(dimensions, labels, strict=True)),
    ]
    counts: Counter[tuple[GroupKey, int, int]] = Counter()
    if groups_in_database(dialect):
        statement = (
            answers.join_into(select(*columns, func.count()).select_from(ResponseSession))
            .where(*where.conditions())
            .group_by(literal_column("grp"), *(literal_column(label) for label in labels))
        )
        for group_key, *codes, n in _rows(session, statement):
            for index, code in enumerate(codes):
                counts[(group_key, index, int(code))] += int(n)
        return counts
    statement = answers.join_into(select(*columns).select_from(ResponseSession)).where(
        *where.conditions()
    )
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
        derived.append(_added(answered).label(f"a{d_index}"))
        derived.append(_added([func.coalesce(v, _int(0)) for v in keyed]).label(f"s{d_index}"))
    c = select(*derived).select_from(read_once).offset(0).subquery("per_response").c

    aggregates: list[ColumnElement[Any]] = [func.count()]
    answer_slots: list[tuple[str, int]] = []
    for item in items:
        for point in range(item.low, item.high + 1):
            aggregates.append(func.count().filter(c[raw_name[item.id]] == _int(point)))
            answer_slots.append((item.id, point))
    for d_index, dimension in enumerate(dimensions):
        t = c[f"t{d_index}"]
        aggregates += [func.sum(c[f"c{d_index}"]), func.sum(t), func.sum(t * t)]
        for i_index in range(len(dimension.items)):
            k = c[f"k{d_index}_{i_index}"]
            aggregates += [func.sum(k), func.sum(k * k), func.sum(k * t)]
    # Scores: conditional sums per number of items answered (a GROUP BY on those numbers
    # would make SQLite sort every row and keep PostgreSQL from a parallel plan).
    scored_all = _all_true(
        [c[f"a{d}"] >= _int(dimension.needed) for d, dimension in enumerate(dimensions)]
    )
    answered_counts = [range(d.needed, len(d.items) + 1) for d in dimensions]
    aggregates.append(func.count().filter(scored_all))
    score_slots: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    for d, counts in enumerate(answered_counts):
        for count in counts:
            when = scored_all & (c[f"a{d}"] == _int(count))
            s_d = c[f"s{d}"]
            aggregates += [func.sum(s_d).filter(when), func.sum(s_d * s_d).filter(when)]
            score_slots.append(("sums", (d,), (count,)))
    pairs = [(a, b) for a in range(len(dimensions)) for b in range(a + 1, len(dimensions))]
    for a, b in pairs:
        for ca in answered_counts[a]:
            for cb in answered_counts[b]:
                when = scored_all & (c[f"a{a}"] == _int(ca)) & (c[f"a{b}"] == _int(cb))
                aggregates.append(func.sum(c[f"s{a}"] * c[f"s{b}"]).filter(when))
                score_slots.append(("products", (a, b), (ca, cb)))

    row = session.connection().execute(select(*aggregates)).one()
    values = [int(v) if v is not None else 0 for v in row]
    n, values = values[0], values[1:]
    answers_by_item: dict[str, dict[int, int]] = {}
    for (item_id, point), count in zip(answer_slots, values, strict=False):
        answers_by_item.setdefault(item_id, {})[point] = count
    position = len(answer_slots)
    complete_cases: dict[str, CompleteCaseSums] = {}
    for dimension in dimensions:
        width = 3 + 3 * len(dimension.items)
        block = values[position : position + width]
        position += width
        complete_cases[dimension.id] = CompleteCaseSums(
            n=block[0],
            total=block[1],
            total_squares=block[2],
            item_sums=tuple(block[3::3]),
            item_squares=tuple(block[4::3]),
            item_total=tuple(block[5::3]),
        )
    scored_n = values[position]
    position += 1
    sums: tuple[dict[int, tuple[int, int]], ...] = tuple({} for _ in dimensions)
    products: dict[tuple[int, int], dict[tuple[int, int], int]] = {pair: {} for pair in pairs}
    for kind, where_in, answered_in in score_slots:
        if kind == "sums":
            sums[where_in[0]][answered_in[0]] = (values[position], values[position + 1])
            position += 2
        else:
            products[(where_in[0], where_in[1])][(answered_in[0], answered_in[1])] = values[
                position
            ]
            position += 1
    return ItemTallies(
        n=n,
        answers=answers_by_item,
        complete=complete_cases,
        scores=ScoreSums(n=scored_n, sums=sums, products=products),
    )


def _added(terms: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _all_true(conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _all_answered(values: Sequence[ColumnElement[Any]]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = values[0].is_not(None)
    for value in values[1:]:
        condition = condition & value.is_not(None)
    return condition
