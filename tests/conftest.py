"""Shared fixtures: a real, migrated database per test, on every configured backend.

Backends: every database test runs on SQLite and on PostgreSQL. Without
``SECUREBASE_TEST_POSTGRES_URL`` the PostgreSQL runs are reported as skipped, with the reason;
with ``CI=true`` they fail instead, so a missing server never passes for a green run.
Each test gets an empty, migrated database: a copy of a migrated SQLite file, or a
PostgreSQL database whose tables (every table of the models' metadata) are emptied after it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import BACKENDS, empty_every_table, own_postgres_database
from fastapi.testclient import TestClient

from app import migrations
from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "securebase.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    # One database per test session, so that concurrent runs on one server never collide.
    with own_postgres_database("suite", migrated=True) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database at the latest migration, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "securebase.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    empty_every_table(url)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(environment="test", database_url=database_url, default_country=None)


@pytest.fixture
def client(settings: Settings, catalog: Catalog) -> Iterator[TestClient]:
    """An httpx client talking to the app in-process (server errors raise in the test)."""
    app = create_app(settings, catalog)
    with TestClient(app) as http:
        yield http
    app.state.engine.dispose()
