"""Fixtures for the research export tests.

The catalog holds the bundled questionnaire and the test definitions in ``fixtures/`` (one of
them declares demographic items), loaded as ``SECUREBASE_QUESTIONNAIRES_DIR`` would load them.

The shared ``database_url`` fixture empties every table between PostgreSQL tests, the research
tables (keys, audit log, budget ledger) among them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load([FIXTURES])


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(database_url: str, catalog: Catalog) -> Iterator[AppFactory]:
    """Clients of apps on the test's database, with settings overridden as asked."""
    opened: list[tuple[TestClient, FastAPI]] = []

    def make(**overrides: Any) -> TestClient:
        settings = Settings(
            environment="test", database_url=database_url, default_country=None, **overrides
        )
        app = create_app(settings, catalog)
        client = TestClient(app)
        client.__enter__()
        opened.append((client, app))
        return client

    yield make
    for client, app in opened:
        client.__exit__(None, None, None)
        app.state.engine.dispose()


@pytest.fixture
def research_client(make_client: AppFactory) -> TestClient:
    """A client with the default settings (k = 11, total epsilon 1 per study)."""
    return make_client()
