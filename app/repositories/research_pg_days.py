"""PostgreSQL: the research exports' counts and sums made a day of submissions at a time,
one query per half of the days, so that a few values per day reach Python instead of one
per response.

* Counts (:func:`counted_by_day`): for each day (UTC) from the first covered submission to
  the last, a ``LATERAL`` subquery reads that day's range of the research index, groups the
  day's responses by (primary tendency, crisis level, group) and concatenates each group's
  stored codes (``string_agg``); numpy counts the concatenated codes per group and
  dimension (:class:`app.repositories.research_days.JoinedCodes`). A histogram's counts are
  the same without the tendency and crisis level.
* The item statistics (:func:`tallies_by_day`, :func:`copies_by_day`): each day's research
  copies, concatenated the same way, become matrices for numpy without a Python value per
  copy (read in place), and the next fetch of days is read while numpy adds up the one
  before (:func:`_read_ahead`), so that the server's reading and numpy's adding overlap
  instead of taking turns.

Why a day at a time:

* The day of each row costs nothing: it is the range of the research index's submission
  time the subquery reads, ``[midnight, next midnight)`` UTC, so no row has its time
  converted (computing the day or week of every row, as ``date_trunc`` does, cost as much
  as reading the index). The days come from ``generate_series`` in the same statement:
  one round trip, and an empty day costs one descent of the index.
* Only each day's groups are hashed, a handful of entries; the rows come in the index's
  order of submission time.
* The index is read once, instead of once per dimension with the counting of the previous
  design (:func:`app.repositories.research_sql.grouped_counts`), whose ``GROUP BY``
  branches ran in parallel workers but each read every entry and computed every row's
  period.

Why two halves: PostgreSQL 15 aggregates ``string_agg`` in one process (it gained parallel
partial aggregation in 16), so the export splits its days in two and counts the later half
on a second connection of the pool, on a thread of its own, in the same snapshot as the
export's transaction (``pg_export_snapshot``, then ``SET TRANSACTION SNAPSHOT``: both read
exactly the same rows), then adds the halves' counts or sums.

A row stored without codes (of a questionnaire version not loaded when migration ``0007``
ran) is counted from its research copy, decoded in Python: each day's group says how many
rows have codes, and only when some row lacks them are those rows' copies read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from sqlalchemy import (
    Connection,
    DateTime,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from app.models import ResponseSession
from app.repositories.research_codes import Coder
from app.repositories.research_days import JoinedCodes
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
    answer_byte,
    counting_settings,
    driver_errors,
    start_of,
)
from app.schemas.research import PeriodUnit

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_table = ResponseSession.__table__.c  # type: ignore[attr-defined]
_ResponseKey = tuple[GroupKey, str | None, str | None, dt.date]
_Result = TypeVar("_Result")
_GROUPS = 256
"""Rows of a count's result (one day's group each: a count and its codes, a few hundred
bytes) fetched from the server at a time."""
_DAYS = 8
"""Rows of the copies' result (one day's concatenated copies each) fetched at a time."""


def _group_column(group: Grouping | None) -> ColumnElement[Any] | None:
    """What a row's group is read from: a column, or for a demographic item the byte of its
    answer in the research copy."""
    if isinstance(group, DemographicGroups):
        return answer_byte(group.position)
    if group is None:
        return None
    return GROUP_COLUMNS[group]


def _name(group: Grouping | None, names: dict[Any, GroupKey], raw: Any) -> GroupKey:
    """A row's group as the exports name it: the column's value, or a demographic item's
    option for the byte of its answer."""
    if raw in names:
        return names[raw]
    name: GroupKey = group.key(int(raw)) if isinstance(group, DemographicGroups) else raw
    names[raw] = name
    return name


def _fetched(
    connection: Connection, statement: Select[Any], size: int, ahead: bool = False
) -> Iterator[Any]:
    """The rows of ``statement``, fetched ``size`` at a time through a cursor on the server,
    in the current transaction, in binary (bytes arrive as they are stored): the server
    runs the query as rows are fetched, so the client holds one fetch, however long the
    result (two with ``ahead``: the next one is read while the caller works on these,
    :func:`_read_ahead`). (psycopg's ``stream`` reads whatever the server has sent, which
    can be the whole result when numpy is slower than the server.)"""
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    sql = str(compiled)
    cursor = driver.cursor("research_days", binary=True)

    def fetch() -> list[Any]:
        rows: list[Any] = cursor.fetchmany(size)
        return rows

    with driver_errors(connection, sql):
        try:
            cursor.execute(sql, compiled.params)
            for rows in _read_ahead(fetch) if ahead else iter(fetch, []):
                yield from rows
        finally:
            _close(cursor)


def _close(cursor: psycopg.ServerCursor[Any]) -> None:
    """Close ``cursor`` (``CLOSE`` on the server); when the connection is found lost doing
    so (the rows were all read before it went), the cursor is closed on this side only, as
    the server's went with the connection, and the error goes on."""
    try:
        cursor.close()
    except (psycopg.OperationalError, psycopg.InterfaceError):
        cursor.close()  # the connection now known lost: nothing is sent
        raise


def _read_ahead(fetch: Callable[[], list[Any]]) -> Iterator[list[Any]]:
    """What ``fetch`` returns, call after call until it returns no rows, each call made on a
    thread of its own while the caller works on the rows before: the server reads and sends
    the next rows while numpy adds up these, instead of the two taking turns. One call at a
    time (the cursor is never used by two threads), and at most one ahead, so the memory
    held is two fetches'. However the caller stops (at the end, on an error, or leaving
    early), the call ahead is over before this returns, and so before the cursor is closed
    or the connection used for anything else; its error, if it raised one, is the
    caller's."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="research-read-ahead")
    try:
        upcoming = reader.submit(fetch)
        while rows := upcoming.result():
            upcoming = reader.submit(fetch)
            yield rows
    finally:
        reader.shutdown(wait=True)


def _covered_days(connection: Connection, where: ResponseFilter) -> tuple[dt.date, dt.date] | None:
    """The days (UTC) of the first and the last covered submission, from the index's ends:
    asked once per content hash covered (in one statement), since with several hashes in
    one condition PostgreSQL reads every covered entry instead of the ends."""
    submitted = _table.submitted_at
    ends = connection.execute(
        union_all(
            *(
                select(func.min(submitted), func.max(submitted)).where(*part.conditions())
                for part in where.per_hash()
            )
        )
    ).all()
    firsts = [first for first, _ in ends if first is not None]
    lasts = [last for _, last in ends if last is not None]
    if not firsts or not lasts:
        return None
    return min(firsts).astimezone(dt.UTC).date(), max(lasts).astimezone(dt.UTC).date()


def _by_day(
    where: ResponseFilter,
    columns: Sequence[ColumnElement[Any]],
    keys: Sequence[ColumnElement[Any]],
    first: dt.date,
    last: dt.date,
) -> Select[Any]:
    """For each day (UTC) from ``first`` to ``last``, ``columns`` over that day's covered
    responses, grouped by ``keys`` (one row a day without keys, also for a day without
    responses): ``(day, *keys, *columns)`` rows."""
    midnight = dt.time()
    series = func.generate_series(
        bindparam("first_day", dt.datetime.combine(first, midnight), type_=DateTime()),
        bindparam("last_day", dt.datetime.combine(last, midnight), type_=DateTime()),
        literal_column("interval '1 day'"),
    )
    days = series.table_valued("day").render_derived(name="days")
    utc: ColumnElement[str] = literal_column("'UTC'")
    one_day: ColumnElement[Any] = literal_column("interval '1 day'")
    labelled = [key.label(f"key_{index}") for index, key in enumerate(keys)]
    day = (
        select(*labelled, *columns)
        .where(
            *where.conditions(),
            _table.submitted_at >= func.timezone(utc, days.c.day),
            _table.submitted_at < func.timezone(utc, days.c.day + one_day),
        )
        .group_by(*labelled)
        .lateral("day_counts")
    )
    return select(days.c.day, day).select_from(days).join(day, true())


_SNAPSHOT = re.compile(r"[0-9A-Fa-f-]+")


def _halves(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The days from ``first`` to ``last`` in two halves (one span for a single day)."""
    if first == last:
        return [(first, last)]
    middle = first + (last - first) // 2
    return [(first, middle), (middle + dt.timedelta(days=1), last)]


def _in_same_snapshot(
    connection: Connection, work: Callable[[Connection], _Result]
) -> Future[_Result]:
    """``work`` run on a thread of its own, on a second connection of the same pool whose
    transaction reads the snapshot of ``connection``'s (exported, then imported: both see
    exactly the same rows), read only: PostgreSQL 15 runs a ``string_agg`` in one process,
    so two connections counting half of the days each take about half the time where a
    core is free (the thread, started by the export's, keeps its lower priority)."""
    snapshot = connection.execute(select(func.pg_export_snapshot())).scalar_one()
    if not _SNAPSHOT.fullmatch(snapshot):
        raise ValueError(f"unexpected snapshot identifier {snapshot!r}")

    def run() -> _Result:
        with connection.engine.connect() as other:
            # Before any query of the transaction: its isolation, then the snapshot.
            other.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            other.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            try:
                return work(other)
            finally:
                other.rollback()

    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="research-days")
    try:
        return helper.submit(run)
    finally:
        helper.shutdown(wait=False)


def _in_halves(
    connection: Connection,
    ends: tuple[dt.date, dt.date],
    work: Callable[[tuple[dt.date, dt.date], Connection], _Result],
) -> list[_Result]:
    """``work`` over the days from ``ends[0]`` to ``ends[1]``: the earlier half on
    ``connection`` and, when there are two, the later half at the same time on a second
    connection in the same snapshot (:func:`_in_same_snapshot`). The halves' results in the
    days' order."""
    spans = _halves(*ends)
    later = None
    if len(spans) == 2:
        later_span = spans[1]
        later = _in_same_snapshot(connection, lambda other: work(later_span, other))
    try:
        first = work(spans[0], connection)
    except BaseException:
        if later is not None:
            wait([later])  # its connection back in the pool before the error goes on
        raise
    return [first] if later is None else [first, later.result()]


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
    column = _group_column(group)
    keys: list[ColumnElement[Any]] = []
    if unit is not None:
        keys = [_table.primary_tendency, _table.crisis_level]
    if column is not None:
        keys.append(column)
    codes_column = _table.research_codes
    columns = [
        func.count(),
        func.count(codes_column),
        func.string_agg(codes_column, literal_column("''::bytea")),
    ]
    counts = _DayCounts(group, column, unit, len(keys), dimensions)
    ends = _covered_days(connection, where)
    if ends is None:
        return counts.responses, counts.codes.counter()

    def count(span: tuple[dt.date, dt.date], on: Connection) -> _DayCounts:
        counted = _DayCounts(group, column, unit, len(keys), dimensions)
        with counting_settings(on):
            counted.add_all(_fetched(on, _by_day(where, columns, keys, *span), _GROUPS))
        return counted

    for part in _in_halves(connection, ends, count):
        counts.absorb(part)
    if counts.without_codes:
        _count_copies_without_codes(
            connection, where, group, column, dimensions, counts.codes, counts.names
        )
    return counts.responses, counts.codes.counter()


class _DayCounts:
    """What the rows of a count a day at a time add up to: responses per key, the codes
    (joined, counted with numpy), and how many rows had no stored codes."""

    def __init__(
        self,
        group: Grouping | None,
        column: ColumnElement[Any] | None,
        unit: PeriodUnit | None,
        keys: int,
        dimensions: Sequence[PackedDimension],
    ) -> None:
        self.group = group
        self.grouped = column is not None
        self.unit = unit
        self.keys = keys
        self.responses: Counter[_ResponseKey] = Counter()
        self.codes = JoinedCodes(dimensions)
        self.names: dict[Any, GroupKey] = {}
        self.periods: dict[dt.datetime, dt.date] = {}
        self.without_codes = 0

    def add_all(self, rows: Iterator[Any]) -> None:
        group, names, periods, unit = self.group, self.names, self.periods, self.unit
        for row in rows:
            n, with_codes, joined = row[-3:]
            if n == 0:
                continue  # no keys: one row even for a day without covered responses
            key = _name(group, names, row[self.keys]) if self.grouped else None
            if unit is not None:
                day = row[0]
                period = periods.get(day)
                if period is None:
                    period = periods[day] = start_of(day.date(), unit)
                self.responses[(key, row[1], row[2], period)] += n
            self.without_codes += n - with_codes
            self.codes.add(key, with_codes, b"" if joined is None else bytes(joined))

    def absorb(self, other: _DayCounts) -> None:
        self.responses.update(other.responses)
        self.codes.absorb(other.codes)
        self.without_codes += other.without_codes
        self.names.update(other.names)


def _count_copies_without_codes(
    connection: Connection,
    where: ResponseFilter,
    group: Grouping | None,
    column: ColumnElement[Any] | None,
    dimensions: Sequence[PackedDimension],
    codes: JoinedCodes,
    names: dict[Any, GroupKey],
) -> None:
    """The codes of the covered rows stored without them, decoded from their copies."""
    grp = literal_column("NULL") if column is None else column
    missing = select(grp, _table.research_answers).where(
        *where.conditions(), _table.research_codes.is_(None)
    )
    coder = Coder(dimensions)
    for raw, copy in _fetched(connection, missing, _GROUPS):
        key = None if column is None else _name(group, names, raw)
        codes.add(key, 1, coder.codes(bytes(copy)))


def copies_by_day(
    connection: Connection,
    where: ResponseFilter,
    rows: int,
    days: tuple[dt.date, dt.date] | None = None,
) -> Iterator[npt.NDArray[np.uint8]]:
    """The covered responses' research copies (of the days from ``days[0]`` to ``days[1]``,
    UTC, when given), as matrices of ``rows`` rows (the last one fewer) and a column per
    byte: each day's copies concatenated by the database, so that no Python value is made
    per response.

    Every copy under one content hash has the same layout: each day's copies must take the
    width of the first day's for each of them, as a batch's must take the width of its
    first copy when the copies are streamed."""
    copy = _table.research_answers
    ends = days or _covered_days(connection, where)
    if ends is None:
        return
    columns = [func.count(), func.string_agg(copy, literal_column("''::bytea"))]
    statement = _by_day(where, columns, [], *ends)
    with counting_settings(connection):
        yield from _day_matrices(_fetched(connection, statement, _DAYS, ahead=True), rows)


CopiesReader = Callable[
    [Connection, ResponseFilter, int, tuple[dt.date, dt.date]], Iterator["npt.NDArray[np.uint8]"]
]


def tallies_by_day(
    connection: Connection,
    where: ResponseFilter,
    dimensions: Sequence[PackedDimension],
    rows: int,
    read: CopiesReader = copies_by_day,
) -> ItemTallies:
    """The item statistics' sums of the covered responses, from their copies read a day at
    a time (``read``: :func:`copies_by_day`), the two halves of the days side by side (as
    :func:`counted_by_day` counts them), each added up with numpy on its own thread."""
    from app.repositories.research_arrays import AnswerSums

    ends = _covered_days(connection, where)
    if ends is None:
        return AnswerSums(dimensions).tallies()

    def add_up(span: tuple[dt.date, dt.date], on: Connection) -> AnswerSums:
        sums = AnswerSums(dimensions)
        for matrix in read(on, where, rows, span):
            sums.add(matrix)
        return sums

    sums, *later = _in_halves(connection, ends, add_up)
    for part in later:
        sums.absorb(part)
    return sums.tallies()


def _day_matrices(days: Iterator[tuple[Any, ...]], rows: int) -> Iterator[npt.NDArray[np.uint8]]:
    """Matrices of ``rows`` rows (the last one fewer) from days' concatenated copies: a
    batch's temporary arrays are bounded by ``rows``, not by the largest day. Each day's
    bytes are read in place; only a matrix made of the ends of several days is copied,
    once."""
    import numpy as np

    width: int | None = None
    waiting: list[npt.NDArray[np.uint8]] = []
    held = 0
    for _day, n, joined in days:
        if n == 0:
            continue
        if width is None:
            width = len(joined) // n
        if len(joined) != width * n:
            raise ValueError("research copies of different layouts under one content hash")
        day = np.frombuffer(joined, dtype=np.uint8).reshape(n, width)
        start = 0
        if held:
            start = min(rows - held, n)
            waiting.append(day[:start])
            held += start
            if held == rows:
                yield np.concatenate(waiting)
                waiting, held = [], 0
        while n - start >= rows:
            yield day[start : start + rows]
            start += rows
        if start < n:
            waiting.append(day[start:])
            held += n - start
    if waiting:
        yield np.concatenate(waiting)
