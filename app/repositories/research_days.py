"""SQLite: the research exports' counts and sums made from what SQLite itself gathers, one day
of submissions at a time, so that a few values per day reach Python instead of one per
response.

* A summary (:func:`counted_by_day`): for each day on which a covered response was
  submitted, one ``GROUP BY`` over the research index counts the day's responses per group,
  primary tendency and crisis level and concatenates each of those groups' stored codes
  (``group_concat``); numpy reads the concatenated codes and counts them per group and
  dimension. A histogram's counts are the same without the tendency and crisis level.
* The item statistics (:func:`copies_in_ranges`): the research copies of each range of
  submission times holding a few thousand responses, concatenated, become one matrix for
  numpy without a Python value per copy. (A day can hold any number of responses, and the
  sums take several numbers per answer: their memory is bounded by responses, not days.)

SQLite runs each query in its own C code, during which Python's ``sqlite3`` lets go of the
interpreter, so an export over a million responses holds the interpreter (and with it the
event loop's respondents) for a small part of its time; and making a Python value per
response, which cost more than half of a summary's CPU time, is gone.

Why a day at a time:

* The day of each row costs nothing: the day is a range of the research index's submission
  time, and a stored time is text beginning with its ISO date (UTC, ``YYYY-MM-DD …`` as
  SQLAlchemy writes it), which sorts as the dates do; so every row of the range
  ``[day, next day)`` was submitted on ``day``.
* SQLite groups by sorting: one day's rows are sorted in memory, where a million rows would
  spill to temporary files; and one day's concatenated codes or copies (6 and 27 bytes a
  response for the bundled questionnaire) are all the memory a count needs beyond its
  counters.

Where days hold few responses, one query counts the rest of their week or month (the
period is all a summary needs of the day), so that years of a few submissions a day, or
days without any, cost one query a period.

A row stored without codes (of a questionnaire version not loaded when migration ``0007``
ran) is counted from its research copy, decoded in Python: the day's query counts how many
rows have codes, and only a day with a row without them reads those rows' copies.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    LargeBinary,
    String,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from app.models import ResponseSession
from app.repositories.research_codes import Coder, code_width
from app.repositories.research_scope import (
    GROUP_COLUMNS,
    DemographicGroups,
    Grouping,
    GroupKey,
    PackedDimension,
    ResponseFilter,
)
from app.repositories.research_sql import start_of
from app.schemas.research import PeriodUnit

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from app.repositories.research_arrays import CodeCounts

_table = ResponseSession.__table__.c  # type: ignore[attr-defined]
_FLUSH_BYTES = 500_000
"""Concatenated codes held before they are counted: what bounds the memory of a count
beyond one day's rows."""
_ResponseKey = tuple[GroupKey, str | None, str | None, dt.date]


def _group_column(group: Grouping | None) -> ColumnElement[Any]:
    """What a row's group is read from: a column, or for a demographic item the byte of its
    answer in the research copy (a blob of one byte; ``substr`` counts bytes in a blob)."""
    if isinstance(group, DemographicGroups):
        position: ColumnElement[int] = literal_column(str(int(group.position) + 1))
        return func.substr(_table.research_answers, position, literal_column("1"))
    if group is None:
        return literal_column("NULL")
    return GROUP_COLUMNS[group]


@dataclass(frozen=True, slots=True)
class _Joined:
    """How the blobs of a column (stored codes, research copies) of a group's rows are
    concatenated by SQLite, and read back as bytes.

    ``group_concat`` reads a blob as text in the database's encoding: with UTF-8 (what
    SQLite creates unless told otherwise) the bytes are kept as they are, so the blobs are
    concatenated and the result taken as a blob again; with UTF-16, which would change
    some bytes, each row's blob is written in hexadecimal first (two characters a byte,
    which no encoding changes) and read back with ``bytes.fromhex``."""

    as_is: bool

    @classmethod
    def of(cls, connection: Connection) -> _Joined:
        return cls(connection.exec_driver_sql("PRAGMA encoding").scalar() == "UTF-8")

    def __call__(self, column: ColumnElement[bytes]) -> ColumnElement[Any]:
        if self.as_is:
            return cast(func.group_concat(column, literal("")), LargeBinary)
        return func.group_concat(func.hex(column), literal(""))

    def read(self, value: bytes | str | None) -> bytes:
        """The concatenated bytes (none for a group of rows that all had none)."""
        if value is None:
            return b""
        return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


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


class JoinedCodes:
    """Concatenated stored codes per group, counted with numpy whenever enough have
    gathered."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        from app.repositories import research_arrays as arrays

        self.counts: CodeCounts = arrays.CodeCounts(dimensions)
        self.row_bytes = code_width(dimensions) * len(dimensions)
        self.waiting: dict[GroupKey, list[bytes]] = {}
        self.gathered = 0
        self.absorbed: Counter[tuple[GroupKey, int, int]] = Counter()
        """What other counts (of other days) added: :meth:`absorb`."""

    def add(self, key: GroupKey, with_codes: int, joined: bytes) -> None:
        if len(joined) != with_codes * self.row_bytes:
            raise ValueError("stored codes of different layouts under one content hash")
        if not joined:
            return
        self.waiting.setdefault(key, []).append(joined)
        self.gathered += len(joined)
        if self.gathered >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        for key, parts in self.waiting.items():
            self.counts.add_block(key, b"".join(parts))
        self.waiting.clear()
        self.gathered = 0

    def absorb(self, other: JoinedCodes) -> None:
        """Add what ``other`` counted (the same dimensions, other responses)."""
        self.absorbed.update(other.counter())

    def counter(self) -> Counter[tuple[GroupKey, int, int]]:
        self.flush()
        counted = self.counts.counter()
        counted.update(self.absorbed)
        return counted


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


_LONGEST_SPAN = 64
"""The most days one count of codes alone spans."""
_SPARSE = 100
"""Fewer responses than this a day in a summary's count, and the next counts the rest of
the period (week or month) at once, whose first day its responses then share."""
_CODES_PER_COUNT = 50_000
"""Responses whose codes a count of codes alone (a histogram's) gathers, about: its span
doubles below half of it (up to :data:`_LONGEST_SPAN` days) and halves above twice it."""


def _next_period(start: dt.date, unit: PeriodUnit) -> dt.date:
    """The first day of the week or month after the one starting on ``start``."""
    if unit == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


class _Days:
    """The days of covered submissions, found at the research index's ends and after a day."""

    def __init__(self, connection: Connection, where: ResponseFilter) -> None:
        day = func.substr(_table.submitted_at, literal_column("1"), literal_column("10"))
        self.connection = connection
        self.covered = select(day).where(*where.conditions()).limit(1)
        self.following = self.covered.where(_stored_from("day_start"))

    def first_and_last(self) -> tuple[dt.date, dt.date] | None:
        first = self.connection.execute(self.covered.order_by(_table.submitted_at)).scalar()
        last_first = self.covered.order_by(_table.submitted_at.desc())
        last = self.connection.execute(last_first).scalar()
        if first is None or last is None:
            return None
        return dt.date.fromisoformat(first), dt.date.fromisoformat(last)

    def next_from(self, day: dt.date) -> dt.date | None:
        """The first day from ``day`` on with a covered submission."""
        following = self.following.order_by(_table.submitted_at)
        found = self.connection.execute(following, {"day_start": day.isoformat()}).scalar()
        return None if found is None else dt.date.fromisoformat(found)


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
    every grouping (a demographic item's included).

    Each query counts a span of days within one period, whose first day its responses
    share: one day while days hold many responses, the rest of the period where they hold
    few (:data:`_SPARSE`), so that years of a few responses a day take one query a week or
    month, not one a day. Counting codes alone needs no period: its spans gather about
    :data:`_CODES_PER_COUNT` responses each."""
    grp = _group_column(group).label("grp")
    joined = _Joined.of(connection)
    keys = [] if unit is None else [_table.primary_tendency, _table.crisis_level]
    grouped = ([] if group is None else [grp]) + keys
    counting = select(
        grp, *keys, func.count(), func.count(_table.research_codes), joined(_table.research_codes)
    ).where(*_in_day(where))
    if grouped:
        counting = counting.group_by(*grouped)
    missing = select(grp, _table.research_answers).where(
        *_in_day(where), _table.research_codes.is_(None)
    )
    name = _Keys(group)
    codes = JoinedCodes(dimensions)
    responses: Counter[_ResponseKey] = Counter()
    coder: Coder | None = None
    days = _Days(connection, where)
    ends = days.first_and_last()
    day, last = ends if ends is not None else (dt.date.max, dt.date.min)
    span, sparse = 1, False
    while day <= last:
        if unit is None:
            end = day + dt.timedelta(days=span)
        else:
            period = start_of(day, unit)
            end = _next_period(period, unit) if sparse else day + dt.timedelta(days=1)
        bounds = {"day_start": day.isoformat(), "day_end": end.isoformat()}
        without_codes = 0
        found = 0
        for row in connection.execute(counting, bounds):
            key = name(row[0])
            n, with_codes, span_codes = row[-3:]
            found += n
            if n == 0:
                continue  # no GROUP BY: one row even for a span without covered responses
            if unit is not None:
                responses[(key, row[1], row[2], period)] += n
            without_codes += n - with_codes
            codes.add(key, with_codes, joined.read(span_codes))
        if without_codes:
            coder = coder or Coder(dimensions)
            for raw, copy in connection.execute(missing, bounds):
                codes.add(name(raw), 1, coder.codes(bytes(copy)))
        if unit is not None:
            sparse = found < _SPARSE * (end - day).days
        elif found < _CODES_PER_COUNT // 2:
            span = min(2 * span, _LONGEST_SPAN)
        elif found > 2 * _CODES_PER_COUNT:
            span = max(span // 2, 1)
        day = end
        if not found and day <= last:  # a gap: on to the next day with submissions
            day = days.next_from(day) or day
    return responses, codes.counter()


def _stored_time() -> ColumnElement[str]:
    """The submission time as stored (text), without SQLAlchemy's reading of a date."""
    return type_coerce(_table.submitted_at, String())


def _ranges(
    connection: Connection, where: ResponseFilter, rows: int
) -> Iterator[tuple[str, str | None]]:
    """Ranges ``[start, end)`` of stored submission times (no end: to the last), in order,
    covering every covered response, each holding ``rows`` of them or fewer: the end is the
    time of the index's ``rows``-th covered entry from the start (or, where more than
    ``rows`` responses share the start's very time, the next time after it, so that a range
    is never empty)."""
    conditions = where.conditions()
    first = select(_stored_time()).where(*conditions, _stored_from("day_start"))
    first = first.order_by(_table.submitted_at).limit(1)
    later = first.offset(rows)
    after = (
        select(_stored_time())
        .where(*conditions, _table.submitted_at > bindparam("day_start", type_=String()))
        .order_by(_table.submitted_at)
        .limit(1)
    )
    start = "" if where.submitted_from is None else where.submitted_from.date().isoformat()
    found: str | None = connection.execute(first, {"day_start": start}).scalar()
    while found is not None:
        start = found
        found = connection.execute(later, {"day_start": start}).scalar()
        if found == start:
            found = connection.execute(after, {"day_start": start}).scalar()
        yield start, found


def copies_in_ranges(
    connection: Connection, where: ResponseFilter, rows: int
) -> Iterator[npt.NDArray[np.uint8]]:
    """The covered responses' research copies, as matrices of ``rows`` rows or fewer (more
    only where more responses share one instant) and a column per byte: each range's copies
    (:func:`_ranges`) concatenated by SQLite, so that no Python value is made per response.

    Every copy under one content hash has the same layout: a range's copies must take the
    width of the first range's for each of them, as a batch's must take the width of its
    first copy when the copies are streamed."""
    import numpy as np

    joined = _Joined.of(connection)
    concatenated = select(func.count(), joined(_table.research_answers))
    from_start = [*where.conditions(), _stored_from("day_start")]
    to_end = concatenated.where(
        *from_start, _table.submitted_at < bindparam("day_end", type_=String())
    )
    to_last = concatenated.where(*from_start)
    width: int | None = None
    for start, end in _ranges(connection, where, rows):
        bounds = {"day_start": start, "day_end": end}
        n, range_copies = connection.execute(to_last if end is None else to_end, bounds).one()
        if n == 0:
            continue
        copies = joined.read(range_copies)
        if width is None:
            width = len(copies) // n
        if len(copies) != width * n:
            raise ValueError("research copies of different layouts under one content hash")
        yield np.frombuffer(copies, dtype=np.uint8).reshape(n, width)
