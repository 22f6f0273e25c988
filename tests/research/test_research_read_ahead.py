"""PostgreSQL's item statistics read the next fetch of days while numpy adds up the one
before (:func:`app.repositories.research_pg_days._read_ahead`). The sums are those of
reading in turn, and however the reading ends (at the end, left early, on an error while
adding up, on a connection lost), no fetch is left running on the connection, no cursor is
left open and a lost connection is an outage (503). The days' bytes, read in place, become
batches of copies in the days' order."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from research_support import QUESTIONNAIRE, insert
from sqlalchemy import Connection, Engine, create_engine, text
from sqlmodel import Session
from test_research_counting import varied

from app.errors import DATABASE_OUTAGES
from app.repositories import research_data, research_pg_days
from app.repositories.research_codes import packed_dimensions
from app.repositories.research_scope import ResponseFilter
from scoring.catalog import Catalog

on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def engine(database_url: str, catalog: Catalog) -> Iterator[Engine]:
    """Responses over three months (a fetch a day below: many fetches)."""
    engine = create_engine(database_url)
    insert(engine, catalog, varied(catalog, np.random.default_rng(41), 80))
    yield engine
    engine.dispose()


def _where(catalog: Catalog) -> ResponseFilter:
    return ResponseFilter(QUESTIONNAIRE, catalog.definitions[QUESTIONNAIRE].content_hash)


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("research-read-ahead")]


def _copies(connection: Connection, catalog: Catalog) -> Iterator[Any]:
    where = _where(catalog)
    days = research_pg_days._covered_days(connection, where)
    assert days is not None
    assert days[0] < days[1]
    return research_pg_days.copies_by_day(connection, where, 1, days)


@on_postgres
def test_sums_read_ahead_a_day_at_a_time_are_those_of_each_copy(
    engine: Engine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(research_pg_days, "_DAYS", 1)  # a fetch per day
    dimensions = packed_dimensions(catalog.definitions[QUESTIONNAIRE].definition)
    where = _where(catalog)
    with Session(engine) as session:
        tallies = research_data.item_tallies(session, where, dimensions)
        assert tallies.n > 20
        assert tallies == research_data.streamed_tallies(session, where, dimensions)
    assert _readers() == []


@on_postgres
def test_leaving_the_copies_early_leaves_no_fetch_on_the_connection(
    engine: Engine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch read ahead is over when the reading is left: the connection answers the
    next query at once (psycopg would refuse one while another runs on it)."""
    monkeypatch.setattr(research_pg_days, "_DAYS", 1)
    with engine.connect() as connection:
        copies = _copies(connection, catalog)
        assert len(next(copies)) == 1
        copies.close()
        assert _readers() == []
        assert connection.execute(text("SELECT 1")).scalar_one() == 1


@on_postgres
def test_an_error_while_adding_up_leaves_the_connection_as_it_was(
    engine: Engine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored copy with an answer beyond its scale stops the export in the middle of the
    days, with the fetch ahead running: its error is the export's, and both connections are
    left with no fetch running and no cursor open."""
    monkeypatch.setattr(research_pg_days, "_DAYS", 1)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE response_session SET research_answers = "
                "set_byte(research_answers, 0, 200) WHERE id IN (SELECT id FROM "
                "response_session WHERE research_answers IS NOT NULL ORDER BY submitted_at "
                "OFFSET 3 LIMIT 1)"
            )
        )
    dimensions = packed_dimensions(catalog.definitions[QUESTIONNAIRE].definition)
    with Session(engine) as session:
        with pytest.raises(ValueError, match="beyond its scale"):
            research_data.item_tallies(session, _where(catalog), dimensions)
        assert _readers() == []
        assert session.connection().execute(text("SELECT 1")).scalar_one() == 1
    gc.collect()  # a cursor left open would say so now, while the test runs


@on_postgres
@pytest.mark.parametrize(
    "days_a_fetch",
    [
        # Every day in one fetch: the fetch read ahead finds the end, then the connection
        # goes before the cursor is closed. Closing it is then an outage like a lost fetch,
        # and the cursor is closed all the same (psycopg warns of one left open).
        10_000,
        # A fetch a day: the connection goes while the days after the first are read ahead;
        # the reader's error reaches the export as an outage, and its thread is over.
        1,
    ],
    ids=["after-the-last-fetch", "between-fetches"],
)
def test_a_connection_lost_while_reading_ahead_is_an_outage_with_nothing_left_behind(
    engine: Engine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, days_a_fetch: int
) -> None:
    monkeypatch.setattr(research_pg_days, "_DAYS", days_a_fetch)
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        copies = _copies(connection, catalog)
        assert len(next(copies)) == 1
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(DATABASE_OUTAGES):
            for _ in copies:
                pass
        assert _readers() == []
        assert connection.invalidated  # gone: not handed back to the pool, nothing to roll back
    del copies
    gc.collect()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 12), max_size=12),
    st.integers(1, 7),
    st.integers(1, 5),
)
def test_days_become_matrices_of_the_batch_size_in_order(
    sizes: list[int], rows: int, width: int
) -> None:
    """Days of any number of copies (none, fewer than a batch, several batches) become
    matrices of ``rows`` copies but the last, in the days' order, each copy whole."""
    days = []
    made = 0
    for n in sizes:
        copies = bytes((made + i) % 251 for i in range(n * width))
        days.append((None, n, copies))
        made += n * width
    matrices = list(research_pg_days._day_matrices(iter(days), rows))
    assert [len(m) for m in matrices[:-1]] == [rows] * (len(matrices) - 1)
    if matrices:
        assert 0 < len(matrices[-1]) <= rows
        assert all(m.shape[1] == width for m in matrices)
    assert b"".join(m.tobytes() for m in matrices) == b"".join(d[2] for d in days)


def test_days_of_another_layout_are_refused() -> None:
    days = [(None, 2, bytes(6)), (None, 2, bytes(8))]
    with pytest.raises(ValueError, match="different layouts"):
        list(research_pg_days._day_matrices(iter(days), 3))
