"""The database backends every database test runs on, shared by the conftest and the
migration tests: SQLite always, PostgreSQL when ``SECUREBASE_TEST_POSTGRES_URL`` is set.

Without that server the PostgreSQL runs are skipped with the reason, so the report shows what
did not run; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)

POSTGRES_URL = os.environ.get("SECUREBASE_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
NO_POSTGRES = "PostgreSQL not configured: set SECUREBASE_TEST_POSTGRES_URL to run these tests"


def require_postgres() -> str:
    """The server's URL; without one, skip the test (fail it under CI=true)."""
    if POSTGRES_URL:
        return POSTGRES_URL
    if IN_CI:
        pytest.fail(f"CI=true and PostgreSQL is required. {NO_POSTGRES}")
    pytest.skip(NO_POSTGRES)


@contextmanager
def own_postgres_database(purpose: str, *, migrated: bool) -> Iterator[str]:
    """A database of the caller's own on the test server (so concurrent runs and other tests
    never collide), migrated to head if asked; dropped afterwards, even if the caller stopped
    it accepting connections."""
    server = make_url(require_postgres())
    name = f"{server.database}_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        if migrated:
            from app import migrations

            migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_every_table(url: str) -> None:
    """Every table the models declare, so a new table can never keep rows between tests."""
    names = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
