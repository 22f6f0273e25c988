"""Rows streamed from PostgreSQL's own driver cursor fail as any other database read does.

:func:`app.repositories.research_sql.stream` reads through psycopg directly (no SQLAlchemy
result in between), so a connection lost in the middle must still surface as SQLAlchemy's
``OperationalError``: that is what the application answers with a 503 to retry, where a raw
driver error would be a 500.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from backends import own_postgres_database
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from app.errors import outage_of
from app.repositories.research_sql import stream

pytestmark = pytest.mark.postgres


@pytest.fixture
def throwaway_postgres() -> Iterator[str]:
    """A database of the test's own, since its connections are cut."""
    with own_postgres_database("stream", migrated=False) as url:
        yield url


def test_a_connection_lost_while_rows_stream_is_an_outage(throwaway_postgres: str) -> None:
    engine = create_engine(throwaway_postgres)
    try:
        with engine.connect() as connection:
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            # More rows than the socket's buffers hold, so the server is still sending.
            rows = stream(connection, select(func.generate_series(1, 5_000_000)), 1_000)
            assert next(rows) == (1,)
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
                other.commit()
            with pytest.raises(OperationalError) as raised:
                for _row in rows:
                    pass
            assert outage_of(raised.value) is not None
    finally:
        engine.dispose()
