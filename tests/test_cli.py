"""The ``securebase`` command: validating definition files, migrating and purging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from releases import FIRST_RELEASE_HASH
from sqlalchemy import create_engine, text, update
from sqlmodel import col

from app.cli import main
from app.config import Settings, get_settings
from app.main import create_app
from app.models import IdempotencyRecord, ResponseSession
from scoring.catalog import BUNDLED_DIR, Catalog

BUNDLED = BUNDLED_DIR / "attachment-self-reflection.yaml"
QUESTIONNAIRE = "attachment-self-reflection"


def test_validate_accepts_the_bundled_questionnaire() -> None:
    result = CliRunner().invoke(main, ["questionnaires", "validate", str(BUNDLED)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout
    assert QUESTIONNAIRE in result.stdout


def test_validate_names_the_earlier_version_the_bundled_questionnaire_measures_the_same_as(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(main, ["questionnaires", "validate", str(BUNDLED)])
    assert result.exit_code == 0, result.output
    assert f"measures the same as {FIRST_RELEASE_HASH}" in result.stdout

    document = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    document["research"]["same_measure_as"] = ["sha256:older"]
    path = tmp_path / "declares-a-bad-hash.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    refused = CliRunner().invoke(main, ["questionnaires", "validate", str(path)])
    assert refused.exit_code == 1
    assert f"{path}: research.same_measure_as[0]: " in refused.stderr


def broken_definition(tmp_path: Path) -> Path:
    """The bundled file with four independent mistakes."""
    document = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    document["items"][0]["scale"] = "no-such-scale"
    document["items"][1]["dimension"] = "no-such-dimension"
    document["items"][2]["id"] = document["items"][0]["id"]
    document["wellbeing"]["risk_rules"][0]["item"] = "wb_missing"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_validate_lists_every_problem_with_file_and_path(tmp_path: Path) -> None:
    broken = broken_definition(tmp_path)
    result = CliRunner().invoke(main, ["questionnaires", "validate", str(BUNDLED), str(broken)])
    assert result.exit_code != 0
    expected = [
        ("items[0].scale", "no-such-scale"),
        ("items[1].dimension", "no-such-dimension"),
        ("items[2].id", "duplicate"),
        ("wellbeing.risk_rules[0].item", "wb_missing"),
    ]
    lines = result.stderr.splitlines()
    for path, words in expected:
        matching = [line for line in lines if str(broken) in line and path in line]
        assert matching, f"no problem reported at {path}: {result.stderr}"
        assert any(words in line for line in matching), matching
    assert str(BUNDLED) not in result.stderr  # the valid file has no problems


def test_validate_reports_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["questionnaires", "validate", str(broken), str(missing)])
    assert result.exit_code != 0
    assert str(broken) in result.stderr
    assert str(missing) in result.stderr


@pytest.fixture
def environment_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """SECUREBASE_DATABASE_URL pointing to a fresh SQLite file, for commands that read it."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_db_upgrade_then_purge_deletes_only_expired_incomplete_responses(
    environment_database: str, catalog: Catalog
) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output

    settings = Settings(environment="test", database_url=environment_database)
    app = create_app(settings, catalog)
    answers = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}
    with TestClient(app) as http:

        def start(_key: str | None = None, **body: object) -> str:
            response = http.post(
                "/api/v1/responses",
                json={"questionnaire_id": QUESTIONNAIRE, **body},
                headers={"Idempotency-Key": _key} if _key else {},
            )
            assert response.status_code == 201, response.text
            response_id: str = response.json()["response_id"]
            return response_id

        expired = start(answers={"anx01": 2}, _key="purge-test-expired-0001")
        fresh = start(answers={"anx01": 3}, _key="purge-test-fresh-00001")
        submitted = start(answers=answers, submit=True)
    app.state.engine.dispose()

    engine = create_engine(environment_database)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with engine.begin() as connection:
        # The submitted one too: a past expiry must not matter once a response is finished.
        for response_id in (expired, submitted):
            connection.execute(
                update(ResponseSession)
                .where(col(ResponseSession.id) == response_id)
                .values(expires_at=past)
            )
        # The fresh response's remembered create answer is older than a day.
        connection.execute(
            update(IdempotencyRecord)
            .where(col(IdempotencyRecord.response_id) == fresh)
            .values(created_at=past - dt.timedelta(days=1))
        )

    purged = runner.invoke(main, ["purge"])
    assert purged.exit_code == 0, purged.output
    assert "deleted 1 expired incomplete response(s)" in purged.stdout
    assert "1 expired idempotency record(s)" in purged.stdout

    with engine.connect() as connection:
        remaining = set(connection.execute(text("SELECT id FROM response_session")).scalars())
        records = connection.execute(text("SELECT count(*) FROM idempotency_record")).scalar()
    engine.dispose()
    assert remaining == {fresh, submitted}
    # The expired response's record went with it; the fresh one's had expired on its own.
    assert records == 0
