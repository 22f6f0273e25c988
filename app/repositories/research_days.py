"""SQLite: a summary's and a histogram's counts made by SQLite itself, one day of submissions
at a time, so that a few rows per day reach Python instead of one per response.

For each day on which a covered response was submitted, one ``GROUP BY`` over the research
index counts the day's responses per group, primary tendency and crisis level, and
concatenates each of those groups' stored codes (``group_concat``, read in hexadecimal: two
characters per byte); numpy reads the concatenated codes and counts them per group and
dimension. SQLite runs its query in its own C code, during which
Python's ``sqlite3`` lets go of the interpreter, so an export counting a million responses
holds the interpreter (and the event loop's respondents) for a small part of its time; and
making one Python value per response, which cost more than half of counting them, is gone.

Why a day at a time:

* The day of each row costs nothing: the day is a range of the research index's submission
  time, and a stored time is text beginning with its ISO date (UTC, ``YYYY-MM-DD …`` as
  SQLAlchemy writes it), which sorts as the dates do; so every row of the range
  ``[day, next day)`` was submitted on ``day``.
* SQLite groups by sorting: one day's rows are sorted in memory, where a million rows would
  spill to temporary files, and one day's concatenated codes (12 characters a response for
  the bundled questionnaire) are all the memory a count needs beyond its counters.

The next day with responses is found with the index (its first entry from the end of the
last day), so days without submissions cost one look-up in all, not one each.

A row stored without codes (of a questionnaire version not loaded when migration ``0007``
ran) is counted from its research copy, decoded in Python: the day's query counts how many
rows have codes, and only a day with a row without them reads those rows' copies.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, String, bindparam, func, literal, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from app.models import ResponseSession
from app.repositories.research_codes import Coder, code_width
from app.repositories.research_scope import (
    DemographicGroups,
    GroupBy,
    Grouping,
    GroupKey,
    PackedDimension,
    ResponseFilter,
)
from app.repositories.research_sql import start_of
from app.schemas.research import PeriodUnit

if TYPE_CHECKING:
    from app.repositories.research_arrays import CodeCounts

_table = ResponseSession.__table__.c  # type: ignore[attr-defined]
_GROUP_COLUMNS: dict[GroupBy, ColumnElement[Any]] = {
    "study": _table.study,
    "language": _table.language,
    "country": _table.country,
    "tendency": _table.primary_tendency,
}
_FLUSH_CHARACTERS = 1_000_000
"""Concatenated codes (hexadecimal characters) held before they are counted: what bounds the
memory of a count beyond one day's rows."""
_ResponseKey = tuple[GroupKey, str | None, str | None, dt.date]


def _group_column(group: Grouping | None) -> ColumnElement[Any]:
    """What a row's group is read from: a column, or for a demographic item the byte of its
    answer in the research copy (a blob of one byte; ``substr`` counts bytes in a blob)."""
    if isinstance(group, DemographicGroups):
        position: ColumnElement[int] = literal_column(str(int(group.position) + 1))
        return func.substr(_table.research_answers, position, literal_column("1"))
    if group is None:
        return literal_column("NULL")
    return _GROUP_COLUMNS[group]


def _joined_codes(connection: Connection) -> ColumnElement[str]:
    """The stored codes of a group's rows, concatenated, in hexadecimal.

    ``group_concat`` reads a blob as text in the database's encoding: with UTF-8 (what
    SQLite creates unless told otherwise) the bytes are kept as they are, so the codes are
    concatenated first and written in hexadecimal once, which sorts half the bytes per row
    (a sixth less CPU time for a summary); with UTF-16, each row's codes are written in
    hexadecimal first, which no encoding changes."""
    codes = _table.research_codes
    if connection.exec_driver_sql("PRAGMA encoding").scalar() == "UTF-8":
        return func.hex(func.group_concat(codes, literal("")))
    return func.group_concat(func.hex(codes), literal(""))


def _stored_from(name: str) -> ColumnElement[bool]:
    """The stored submission time is at or after ``:name``, compared as the stored text (a
    date's ISO text is at or before every stored time of that day)."""
    bound: ColumnElement[bool] = _table.submitted_at >= bindparam(name, type_=String())
    return bound


def _in_day(where: ResponseFilter) -> list[ColumnElement[bool]]:
    """The covered responses submitted in ``[:day_start, :day_end)`` (ISO dates)."""
    return [
        *where.conditions(),
        _stored_from("day_start"),
        _table.submitted_at < bindparam("day_end", type_=String()),
    ]


def _days(connection: Connection, where: ResponseFilter) -> Iterator[dt.date]:
    """Each day on which a covered response was submitted, in order: the day of the index's
    first entry at or after the end of the day before (its columns after the submission
    time are read only to check the other conditions)."""
    following = (
        select(func.substr(_table.submitted_at, literal_column("1"), literal_column("10")))
        .where(*where.conditions(), _stored_from("day_start"))
        .order_by(_table.submitted_at)
        .limit(1)
    )
    # Nothing before the first day of ``submitted_from`` (as SQLAlchemy writes it) is covered.
    start = "" if where.submitted_from is None else where.submitted_from.date().isoformat()
    while (found := connection.execute(following, {"day_start": start}).scalar()) is not None:
        day = dt.date.fromisoformat(found)
        yield day
        start = (day + dt.timedelta(days=1)).isoformat()


class _Codes:
    """Concatenated stored codes per group (hexadecimal), counted with numpy whenever enough
    have gathered."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        from app.repositories import research_arrays as arrays

        self.counts: CodeCounts = arrays.CodeCounts(dimensions)
        self.row_characters = 2 * code_width(dimensions) * len(dimensions)
        self.waiting: dict[GroupKey, list[str]] = {}
        self.characters = 0

    def add(self, key: GroupKey, with_codes: int, joined: str | None) -> None:
        joined = joined or ""
        if len(joined) != with_codes * self.row_characters:
            raise ValueError("stored codes of different layouts under one content hash")
        if not joined:
            return
        self.waiting.setdefault(key, []).append(joined)
        self.characters += len(joined)
        if self.characters >= _FLUSH_CHARACTERS:
            self.flush()

    def flush(self) -> None:
        for key, parts in self.waiting.items():
            self.counts.add_block(key, bytes.fromhex("".join(parts)))
        self.waiting.clear()
        self.characters = 0

    def counter(self) -> Counter[tuple[GroupKey, int, int]]:
        self.flush()
        return self.counts.counter()


class _Keys:
    """A row's group as the exports name it: the column's value, or a demographic item's
    option for the byte of its answer."""

    def __init__(self, group: Grouping | None) -> None:
        self.group = group
        self.names: dict[Any, GroupKey] = {}

    def __call__(self, raw: Any) -> GroupKey:
        if raw in self.names:
            return self.names[raw]
        name: GroupKey = raw
        if isinstance(self.group, DemographicGroups):
            if len(raw) != 1:
                raise ValueError("research copies of different layouts under one content hash")
            name = self.group.key(raw[0])
        self.names[raw] = name
        return name


def counted_by_day(
    connection: Connection,
    where: ResponseFilter,
    group: Grouping | None,
    unit: PeriodUnit | None,
    dimensions: Sequence[PackedDimension],
) -> tuple[Counter[_ResponseKey], Counter[tuple[GroupKey, int, int]]]:
    """The covered responses per (group, primary tendency, crisis level, first day of the
    ``unit`` of submission) (none without ``unit``), and per (group, dimension index, packed
    code), from the codes stored at submission; ``dimensions`` are the covered version's
    own, in its order (:func:`app.repositories.research_codes.packed_dimensions`).

    What :func:`app.repositories.research_data.streamed_counts` counts with ``stored``, for
    every grouping (a demographic item's included)."""
    grp = _group_column(group).label("grp")
    keyed = unit is not None
    keys = [_table.primary_tendency, _table.crisis_level] if keyed else []
    grouped = ([] if group is None else [grp]) + keys
    counting = select(
        grp,
        *keys,
        func.count(),
        func.count(_table.research_codes),
        _joined_codes(connection),
    ).where(*_in_day(where))
    if grouped:
        counting = counting.group_by(*grouped)
    missing = select(grp, _table.research_answers).where(
        *_in_day(where), _table.research_codes.is_(None)
    )
    name = _Keys(group)
    codes = _Codes(dimensions)
    responses: Counter[_ResponseKey] = Counter()
    coder: Coder | None = None
    for day in _days(connection, where):
        period = start_of(day, unit) if unit is not None else day
        bounds = {"day_start": day.isoformat(), "day_end": (day + dt.timedelta(days=1)).isoformat()}
        without_codes = 0
        for row in connection.execute(counting, bounds):
            key = name(row[0])
            n, with_codes, joined = row[-3:]
            if n == 0:
                continue  # no GROUP BY: one row even for a day without covered responses
            if keyed:
                responses[(key, row[1], row[2], period)] += n
            without_codes += n - with_codes
            codes.add(key, with_codes, joined)
        if without_codes:
            coder = coder or Coder(dimensions)
            for raw, copy in connection.execute(missing, bounds):
                codes.add(name(raw), 1, coder.codes(bytes(copy)).hex())
    return responses, codes.counter()
