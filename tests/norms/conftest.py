"""Fixtures for the norms tests: a database with the ledger emptied around each test, many
consenting responses submitted through the response service, and catalogs with and without
a norms file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text


@pytest.fixture(autouse=True)
def _research_tables_emptied(request: pytest.FixtureRequest) -> Iterator[None]:
    if "database_url" not in request.fixturenames:
        yield
        return
    database_url: str = request.getfixturevalue("database_url")

    def empty() -> None:
        if not database_url.startswith("postgresql"):
            return  # each SQLite test has its own copy of the migrated database
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(
                text("TRUNCATE research_export_audit, privacy_budget, researcher_key CASCADE")
            )
        engine.dispose()

    empty()
    yield
    empty()
