"""DATABASE-SPECIFIC SQL for the research exports. Nothing else in the application differs
between SQLite and PostgreSQL but the counting a day at a time of the codes stored at
submission (SQLite: :mod:`app.repositories.research_days`; PostgreSQL:
:mod:`app.repositories.research_pg_days`), which every export now counts with; every other
research query is built from what this module gives.

What differs:

* The first day of a response's ISO week or calendar month (UTC). SQLite 3.40 has no ISO-week
  format, so the Monday is computed with date modifiers: six days back, then forward to the
  next Monday. PostgreSQL: ``date_trunc``.
* Streaming a result that can be long. SQLite: batches of plain tuples from the driver's
  cursor. PostgreSQL: psycopg's ``stream`` (rows arrive in chunks as the server produces them);
  a server-side cursor would do too, but PostgreSQL never runs a cursor's query in parallel,
  which makes the one long research query about half as fast.
* Counting codes the database computes (PostgreSQL, when asked for other rules than the
  stored ones, ``stored=False``): each dimension's packed code is computed from the bytes
  of the research copy (``get_byte``, :func:`packed_code`) and counted with ``GROUP BY``,
  so no row travels to Python (:func:`grouped_counts`); with ``stored`` the same query
  counts a ``substring`` of the stored codes. The exports themselves count the stored
  codes a day at a time on both databases (numpy counts what each day's query
  concatenates). SQLite has no ``get_byte`` (a byte of a blob takes two functions there,
  and its queries run in one thread): codes by other rules are decoded from the streamed
  copies.

Timestamps are stored in UTC (SQLite: as text without an offset).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import psycopg
from sqlalchemy import (
    CompoundSelect,
    Connection,
    Date,
    Select,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy import exc as db_errors
from sqlalchemy.sql.elements import ColumnElement

from app.models import ResponseSession
from app.repositories.research_codes import code_width
from app.repositories.research_scope import PackedDimension
from app.schemas.research import PeriodUnit
from scoring import answer_copy

Dialect = Literal["sqlite", "postgresql"]


def dialect_of(name: str) -> Dialect:
    if name == "sqlite":
        return "sqlite"
    if name == "postgresql":
        return "postgresql"
    raise ValueError(f"research exports do not support the {name!r} database")


def period_start(dialect: Dialect, unit: PeriodUnit) -> ColumnElement[Any]:
    """The first day (a date, or ISO text on SQLite) of the week or month of submission."""
    submitted = ResponseSession.__table__.c.submitted_at  # type: ignore[attr-defined]
    if dialect == "sqlite":
        modifiers = ("'-6 days'", "'weekday 1'") if unit == "week" else ("'start of month'",)
        return func.date(submitted, *(literal_column(m) for m in modifiers))
    utc = func.timezone(literal_column("'UTC'"), submitted)
    return cast(func.date_trunc(literal_column(f"'{unit}'"), utc), Date)


def counted_day(dialect: Dialect) -> ColumnElement[Any]:
    """The day (UTC) of submission, as cheaply as the database gives it, for counting per
    day: on SQLite the first ten characters of the stored text (always
    ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, as SQLAlchemy writes it), which costs a fraction
    of a date function per row; on PostgreSQL :func:`submission_day`."""
    if dialect == "sqlite":
        submitted = ResponseSession.__table__.c.submitted_at  # type: ignore[attr-defined]
        return func.substr(submitted, 1, 10)
    return submission_day(dialect)


def start_of(day: dt.date, unit: PeriodUnit) -> dt.date:
    """The first day of the ISO week (Monday) or calendar month holding ``day``: what
    :func:`period_start` gives in SQL."""
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def as_date(value: object) -> dt.date:
    """A period start as returned by either database."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@contextmanager
def driver_errors(connection: Connection, sql: str) -> Iterator[None]:
    """Around reading through psycopg's own cursor: its errors raised as SQLAlchemy raises
    them, so that a connection lost in the middle of an export is an outage (503) as
    everywhere else, and the lost connection is not given back to the pool as usable."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as error:
        connection.invalidate(error)
        raise db_errors.OperationalError(sql, None, error) from error


def stream(connection: Connection, statement: Select[Any], batch: int) -> Iterator[tuple[Any, ...]]:
    """The rows of ``statement`` as tuples, ``batch`` at a time, in the current transaction."""
    if connection.dialect.name != "postgresql":
        for rows in batches(connection, statement, batch):
            yield from rows
        return
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    sql = str(compiled)
    with driver_errors(connection, sql), driver.cursor() as cursor:
        yield from cursor.stream(sql, compiled.params, size=batch)


def submission_day(dialect: Dialect) -> ColumnElement[Any]:
    """The day (UTC) a response was submitted: a date, or ISO text on SQLite."""
    submitted = ResponseSession.__table__.c.submitted_at  # type: ignore[attr-defined]
    if dialect == "sqlite":
        return func.date(submitted)
    return cast(func.timezone(literal_column("'UTC'"), submitted), Date)


def batches(connection: Connection, statement: Select[Any], size: int) -> Iterator[Sequence[Any]]:
    """SQLite: the rows of ``statement``, ``size`` at a time, as the driver's plain tuples.

    SQLAlchemy binds the parameters (dates as SQLite stores them); the rows come straight
    from the driver's cursor, without a row object each: every column the research queries
    read is text, an integer or bytes, which the driver returns as they are.
    """
    result = connection.execute(statement)
    try:
        cursor = result.cursor
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        result.close()


_research_copy = ResponseSession.__table__.c.research_answers  # type: ignore[attr-defined]


def answer_byte(position: int) -> ColumnElement[int]:
    """PostgreSQL: the byte at ``position`` of the research copy (0: not answered)."""
    return func.get_byte(_research_copy, literal_column(str(int(position))))


def item_terms(dimension: PackedDimension) -> list[tuple[int, list[int]]]:
    """What each item of ``dimension`` adds to its packed code (see :class:`PackedDimension`),
    byte by byte: ``(position, added)`` where ``added[place]`` is what a research copy with
    ``place`` at ``position`` adds. An unanswered item adds 0; an answered one
    ``keyed - floor + base``, where the answer is ``place - FIRST_PLACE + low`` and reverse
    keying is ``low + high - answer``, as in the scoring engine."""
    terms = []
    for item in dimension.items:
        added = [0] * (item.high - item.low + answer_copy.FIRST_PLACE + 1)
        for place in range(answer_copy.FIRST_PLACE, len(added)):
            answer = place - answer_copy.FIRST_PLACE + item.low
            keyed = item.low + item.high - answer if item.reverse else answer
            added[place] = keyed - dimension.floor + dimension.base
        terms.append((item.position, added))
    return terms


def packed_code(dimension: PackedDimension) -> ColumnElement[int]:
    """PostgreSQL: a response's packed code on ``dimension``, computed from the bytes of its
    research copy (:func:`item_terms`).

    When every item adds less than 256, what an item adds is looked up in a constant byte
    string of its table: ``get_byte(table, get_byte(copy, position))``, two calls per item,
    a quarter less of the server's time than comparing and adding (``CASE``), which is
    otherwise used. A byte beyond the item's scale (never written) is an error there.
    """
    copy = _research_copy
    terms: list[ColumnElement[Any]] = []
    for position, added in item_terms(dimension):
        place = func.get_byte(copy, literal_column(str(position)))
        if max(added) < 256:
            table: ColumnElement[Any] = literal_column(f"'\\x{bytes(added).hex()}'::bytea")
            terms.append(func.get_byte(table, place))
            continue
        first = added[answer_copy.FIRST_PLACE]
        step = added[-1] - first  # the answers' sum moves by one per place, up or down
        shift = first - answer_copy.FIRST_PLACE * (1 if step >= 0 else -1)
        value = (
            place + literal_column(str(shift)) if step >= 0 else literal_column(str(shift)) - place
        )
        unanswered = place == literal_column(str(answer_copy.NOT_ANSWERED))
        terms.append(case((unanswered, literal_column("0")), else_=value))
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


_stored_codes = ResponseSession.__table__.c.research_codes  # type: ignore[attr-defined]


def counted_code(
    dimensions: Sequence[PackedDimension], index: int, *, stored: bool
) -> ColumnElement[bytes]:
    """PostgreSQL: the code of dimension ``index`` of ``dimensions`` as ``width`` bytes
    (big-endian, :func:`app.repositories.research_codes.code_width`).

    With ``stored`` (``dimensions`` are the covered version's own, in its order), the bytes
    stored at submission; for a row without them, and always otherwise, the code computed
    from the research copy (:func:`packed_code`) in the same bytes. ``coalesce`` evaluates
    the computation only for a row whose stored codes are null.
    """
    width = code_width(dimensions)
    computed = func.substring(
        func.int4send(packed_code(dimensions[index])),
        literal_column(str(5 - width)),
        literal_column(str(width)),
    )
    if not stored:
        return computed
    kept = func.substring(
        _stored_codes, literal_column(str(index * width + 1)), literal_column(str(width))
    )
    return func.coalesce(kept, computed)


def grouped_counts(
    conditions: Sequence[ColumnElement[bool]],
    group: ColumnElement[Any] | None,
    keys: Sequence[ColumnElement[Any]],
    dimensions: Sequence[PackedDimension],
    *,
    stored: bool = False,
) -> CompoundSelect[Any]:
    """PostgreSQL: the covered responses counted per ``(group, *keys)`` (when ``keys`` are
    given) and, per group, the responses with each packed code of every dimension, by the
    database, so only the counts leave it.

    Each row of the result is one count: ``(set, group, *keys, width, code, count)``, where
    ``set`` is ``-1`` for the keys' counts (``code`` null) and ``i`` for the codes of
    dimension ``i`` (the keys null; ``code`` as bytes, :func:`counted_code`), and ``width``
    the length of the research copies counted (one value when every copy has the same
    layout).

    One ``GROUP BY`` per dimension and one for the keys, joined by ``UNION ALL``, rather than
    one ``GROUP BY GROUPING SETS``: PostgreSQL 15 aggregates grouping sets in one process
    only, while the branches of a ``UNION ALL`` run side by side in its parallel workers, and
    on a million responses that was a third faster for the same counts.
    """
    width = func.octet_length(_research_copy).label("width")
    grp = (literal_column("NULL") if group is None else group).label("grp")
    grouped = [] if group is None else [grp]
    no_code: ColumnElement[Any] = literal_column("NULL").label("code")
    branches: list[Select[Any]] = []
    if keys:
        labelled = [key.label(f"key_{index}") for index, key in enumerate(keys)]
        branches.append(
            select(literal_column("-1").label("set"), grp, *labelled, width, no_code, func.count())
            .where(*conditions)
            .group_by(*grouped, *labelled, width)
        )
    no_keys: list[ColumnElement[Any]] = [
        literal_column("NULL").label(f"key_{index}") for index in range(len(keys))
    ]
    for index in range(len(dimensions)):
        code = counted_code(dimensions, index, stored=stored).label("code")
        branches.append(
            select(
                literal_column(str(index)).label("set"), grp, *no_keys, width, code, func.count()
            )
            .where(*conditions)
            .group_by(*grouped, width, code)
        )
    return union_all(*branches)


COUNTING_SETTINGS = {"jit": "off", "work_mem": "64MB"}
"""PostgreSQL settings for the counting query, for its transaction only while it runs.

``jit``: a query over a million research copies costs enough for PostgreSQL to compile its
expressions, which takes longer than it saves here. ``work_mem``: the planner cannot know
that the counts have few groups (a few per period and group, a few hundred codes per
dimension); with the default 4 MB it expects too many for hash tables and sorts the million
rows once per grouping set instead, ten times slower. The tables it then builds take a few
megabytes whatever the number of responses.
"""


@contextmanager
def counting_settings(connection: Connection) -> Iterator[None]:
    """PostgreSQL: :data:`COUNTING_SETTINGS` for the queries run inside (then as before)."""
    before = {
        name: connection.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar_one()
        for name in COUNTING_SETTINGS
    }
    for name, value in COUNTING_SETTINGS.items():
        connection.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )
    yield
    # After an error the transaction is rolled back, and these settings with it.
    for name, value in before.items():
        connection.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )
