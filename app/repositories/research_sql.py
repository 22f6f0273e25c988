"""DATABASE-SPECIFIC SQL for the research exports. Nothing else in the application differs
between SQLite and PostgreSQL; every other research query is built from what this module gives.

What differs:

* The first day of a response's ISO week or calendar month (UTC). SQLite 3.40 has no ISO-week
  format, so the Monday is computed with date modifiers: six days back, then forward to the
  next Monday. PostgreSQL: ``date_trunc``.
* Streaming a result that can be long. SQLite: batches from the ordinary cursor. PostgreSQL:
  psycopg's ``stream`` (rows arrive in chunks as the server produces them); a server-side
  cursor would do too, but PostgreSQL never runs a cursor's query in parallel, which makes the
  one long research query about half as fast.

Timestamps are stored in UTC (SQLite: as text without an offset).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Literal

from sqlalchemy import Connection, Date, Select, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from app.models import ResponseSession
from app.schemas.research import PeriodUnit

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


def as_date(value: object) -> dt.date:
    """A period start as returned by either database."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def stream(connection: Connection, statement: Select[Any], batch: int) -> Iterator[tuple[Any, ...]]:
    """The rows of ``statement`` as tuples, ``batch`` at a time, in the current transaction."""
    if connection.dialect.name != "postgresql":
        result = connection.execute(statement.execution_options(yield_per=batch))
        for row in result:
            yield tuple(row)
        return
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        yield from cursor.stream(str(compiled), compiled.params, size=batch)


def submission_day(dialect: Dialect) -> ColumnElement[Any]:
    """The day (UTC) a response was submitted: a date, or ISO text on SQLite."""
    submitted = ResponseSession.__table__.c.submitted_at  # type: ignore[attr-defined]
    if dialect == "sqlite":
        return func.date(submitted)
    return cast(func.timezone(literal_column("'UTC'"), submitted), Date)
