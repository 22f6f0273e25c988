"""Fixtures for the integration tests: an instrument written from questionnaires/README.md,
and apps configured through the environment as a deployer would configure them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from readme_instrument import AppFactory, readme_example

from app.config import Settings
from app.main import create_app
from scoring.catalog import BUNDLED_DIR


@pytest.fixture
def own_questionnaires_dir(tmp_path: Path) -> Path:
    """A SECUREBASE_QUESTIONNAIRES_DIR holding only the README's example, copied verbatim."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "closeness-check.yaml").write_text(readme_example(), encoding="utf-8")
    return folder


@pytest.fixture
def ecr_rs_dir(tmp_path: Path) -> Path:
    """A SECUREBASE_QUESTIONNAIRES_DIR holding a copy of the library's ECR-RS."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(BUNDLED_DIR / "library" / "ecr-rs.yaml", folder / "ecr-rs.yaml")
    return folder


@pytest.fixture
def app_from_environment(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AppFactory]:
    """Apps built exactly as at start-up: settings and catalog from SECUREBASE_* variables."""
    opened: list[TestClient] = []

    def make(**environment: Any) -> TestClient:
        for name, value in environment.items():
            monkeypatch.setenv(f"SECUREBASE_{name.upper()}", str(value))
        app = create_app(Settings(environment="test", database_url=database_url))
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
