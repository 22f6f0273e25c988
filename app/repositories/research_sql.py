"""DATABASE-SPECIFIC SQL for the research exports. Nothing else in the application differs
between SQLite and PostgreSQL; every other research query is built from what this module gives.

Two things differ:

* Reading answers out of the ``answers`` JSON column. SQLite: ``json_extract(answers, '$."id"')``
  per item (SQLite caches the parsed document within a row, so each further item is cheap).
  PostgreSQL: one ``json_to_record(answers) AS a("id" integer, ...)`` in the FROM clause, which
  parses the document once per row; ``answers->>'id'`` per item would parse it once per item.
* The first day of a response's ISO week or calendar month (UTC). SQLite 3.40 has no ISO-week
  format, so the Monday is computed with date modifiers: six days back, then forward to the
  next Monday. PostgreSQL: ``date_trunc``.
* Which index counts. The counting queries read only the research index. Asked to group by
  a column that has an index of its own (study), SQLite's planner walks that index to save a
  sort and fetches every row from the table, several times slower; grouping by an expression
  of the column (``study || ''``, NULL stays NULL) leaves it the research index. PostgreSQL
  plans the same expression just as well.
* Who counts the dimension codes. PostgreSQL: ``GROUP BY`` (a parallel hash aggregate).
  SQLite groups only by sorting, which costs more than the answers take to read; there the
  rows stream out ungrouped and are counted as they pass.
* Streaming a result that can be long. SQLite: batches from the ordinary cursor. PostgreSQL:
  psycopg's ``stream`` (rows arrive in chunks as the server produces them); a server-side
  cursor would do too, but PostgreSQL never runs a cursor's query in parallel, which makes the
  one long research query about half as fast.

Timestamps are stored in UTC (SQLite: as text without an offset).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Date, Integer, Select, cast, column, func, literal_column, true
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from app.models import ResponseSession

PeriodUnit = Literal["week", "month"]
Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class AnswerColumns:
    """Where the answers come from: extra FROM items to join, and an integer expression per
    item (NULL when the item was not answered)."""

    joins: tuple[FromClause, ...]
    items: dict[str, ColumnElement[Any]]

    def join_into(self, statement: Select[Any]) -> Select[Any]:
        for source in self.joins:
            statement = statement.join(source, true())
        return statement


def dialect_of(name: str) -> Dialect:
    if name == "sqlite":
        return "sqlite"
    if name == "postgresql":
        return "postgresql"
    raise ValueError(f"research exports do not support the {name!r} database")


def answer_columns(dialect: Dialect, item_ids: Sequence[str]) -> AnswerColumns:
    answers = ResponseSession.__table__.c.answers  # type: ignore[attr-defined]
    if dialect == "sqlite":
        return AnswerColumns(
            joins=(),
            items={
                item: func.json_extract(answers, literal_column(_sqlite_path(item)))
                for item in item_ids
            },
        )
    record = (
        func.json_to_record(answers)
        .table_valued(*(column(item, Integer) for item in item_ids))
        .render_derived(name="answer", with_types=True)
    )
    return AnswerColumns(joins=(record,), items={item: record.c[item] for item in item_ids})


def _sqlite_path(item_id: str) -> str:
    # Item ids match ^[a-z0-9][a-z0-9_.-]{0,63}$ (checked when a definition is loaded), so the
    # quoted path can be written literally; a literal keeps the GROUP BY free of parameters.
    if not all(c.isalnum() or c in "_.-" for c in item_id):
        raise ValueError(f"unexpected item id {item_id!r}")
    return f"'$.\"{item_id}\"'"


def grouping_key(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A text column to group by without steering SQLite to the column's own index."""
    return column.op("||")(literal_column("''"))


def groups_in_database(dialect: Dialect) -> bool:
    """Whether grouping many rows by computed codes is cheaper in the database than outside."""
    return dialect == "postgresql"


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
