"""The ``securebase`` command."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO

import click
import uvicorn
from sqlmodel import Session

from app import migrations
from app.config import get_settings
from app.db import create_db_engine
from app.main import load_catalog
from app.services.responses import ResponseContext
from app.services.responses import purge as purge_expired
from scoring.batch import write_scores
from scoring.loading import DefinitionError, load_definitions


@click.group()
def main() -> None:
    """Secure Base: self-reflection about adult attachment."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API (migrating the embedded SQLite database first)."""
    settings = get_settings()
    try:
        load_catalog(settings)
    except DefinitionError as exc:
        raise click.ClickException(f"questionnaire definitions are not valid:\n{exc}") from exc
    if settings.is_sqlite:
        migrations.upgrade(settings.database_url)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its samples here, so /metrics adds up all of them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="securebase-metrics-")
    uvicorn.run(
        "app.main:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration."""
    migrations.upgrade(get_settings().database_url)
    click.echo("database is at the latest migration")


@main.group()
def questionnaires() -> None:
    """Questionnaire definitions."""


@questionnaires.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check definition files; list every problem and exit non-zero if there is one."""
    try:
        loaded = load_definitions(paths)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found", err=True)
        sys.exit(1)
    for item in loaded:
        definition = item.definition
        click.echo(f"{item.source}: ok ({definition.id} {definition.version}, {item.content_hash})")


@main.command()
@click.argument("questionnaire_id")
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
def score(questionnaire_id: str, csv_file: TextIO, output: TextIO) -> None:
    """Score a CSV of answer sets (a column per item id) into a CSV of results."""
    loaded = load_catalog(get_settings()).get(questionnaire_id)
    if loaded is None:
        raise click.ClickException(f"no questionnaire {questionnaire_id!r}")
    count = write_scores(loaded.definition, csv_file, output)
    click.echo(f"scored {count} row(s) with {loaded.content_hash}", err=True)


@main.command()
def purge() -> None:
    """Delete incomplete responses past their expiry."""
    settings = get_settings()
    engine = create_db_engine(settings)
    with Session(engine) as session:
        report = purge_expired(ResponseContext(session, load_catalog(settings), settings))
        session.commit()
    engine.dispose()
    click.echo(
        f"deleted {report.incomplete_responses} expired incomplete response(s) and "
        f"{report.idempotency_records} expired idempotency record(s)"
    )
