"""Shared fixtures: a real, migrated database per test, on every configured backend.

Backends: SQLite always; PostgreSQL when ``SECUREBASE_TEST_POSTGRES_URL`` is set. With
``CI=true`` PostgreSQL is required: its absence fails the run instead of skipping half of it.
Each test gets an empty, migrated database: a copy of a migrated SQLite file, or a
PostgreSQL database whose tables are emptied after the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrations
from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

POSTGRES_URL = os.environ.get("SECUREBASE_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL or IN_CI else [])]
TABLES = ("idempotency_record", "response_session", "study_erasures", "study")


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
    if not POSTGRES_URL:
        pytest.fail("CI=true but SECUREBASE_TEST_POSTGRES_URL is not set: PostgreSQL is required")
    url = make_url(POSTGRES_URL)
    # One database per test session, so that concurrent runs on one server never collide.
    test_db = f"{url.database}_suite_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{test_db}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{test_db}"'))
    suite_url = url.set(database=test_db).render_as_string(hide_password=False)
    migrations.upgrade(suite_url)
    yield suite_url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{test_db}" WITH (FORCE)'))
    admin.dispose()


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
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    engine.dispose()


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
