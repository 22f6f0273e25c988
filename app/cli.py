"""The ``securebase`` command."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO, TypedDict

import click

from app.cli_norms import norms, validate_norms
from app.cli_research import audit, researchers, studies
from app.cli_session import unit_of_work
from app.config import get_settings, split_address

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine

# Each command imports what it uses when it runs: `securebase score` needs the scoring
# library and numpy, not the web application, the database layer or Alembic, and
# `securebase serve` needs Alembic only when the embedded database is behind.

APP_FACTORY = "app.main:create_app_from_environment"
"""What each of several worker processes calls to build its application."""


class ServerOptions(TypedDict):
    ws: Literal["none"]
    access_log: bool
    proxy_headers: bool
    server_header: bool
    timeout_worker_healthcheck: int


SERVER = ServerOptions(
    ws="none",  # no route speaks WebSocket: its protocol is not even imported
    access_log=False,
    proxy_headers=False,
    server_header=False,
    # The supervisor replaces a worker that does not answer its ping in time. Five seconds
    # (the default) can pass on a saturated host without anything being wrong, and every
    # replacement drops that worker's open connections; 30 s matches common practice.
    timeout_worker_healthcheck=30,
)
"""How uvicorn runs this service, whatever the command line says."""


@click.group()
def main() -> None:
    """Secure Base: self-reflection about adult attachment."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API (migrating the embedded SQLite database first), and the metrics on
    SECUREBASE_METRICS_ADDRESS."""
    # Start-up creates about a million objects and frees almost none, so the collector's
    # passes over them find nothing; it runs again, over what start-up left frozen aside
    # (gc.freeze), once the application is built.
    with _collection(enabled=False):
        application = _prepared(workers)
        gc.freeze()
    import uvicorn

    factory = isinstance(application, str)
    uvicorn.run(application, factory=factory, host=host, port=port, workers=workers, **SERVER)


def _prepared(workers: int) -> FastAPI | str:
    """Everything ``serve`` does before it listens: the catalog checked (and loaded once),
    the embedded database migrated, the metrics served; then the application itself, or
    with several workers the factory each of them calls."""
    from app.catalog import load_catalog
    from app.db import create_db_engine
    from app.metrics import start_metrics_server
    from scoring.loading import DefinitionError

    settings = get_settings()
    try:
        catalog = load_catalog(settings)
    except DefinitionError as exc:
        raise click.ClickException(f"questionnaire definitions are not valid:\n{exc}") from exc
    if settings.is_sqlite:
        _migrate_if_behind(settings.database_url, create_db_engine(settings))
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its samples here, so /metrics adds up all of them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="securebase-metrics-")
    if settings.metrics_address != "off":
        metrics_host, metrics_port = split_address(settings.metrics_address)
        try:
            start_metrics_server(metrics_host, metrics_port)
        except OSError as exc:
            raise click.ClickException(
                f"SECUREBASE_METRICS_ADDRESS {settings.metrics_address} cannot be used: "
                f"{exc.strerror or exc}"
            ) from exc
    if workers > 1:
        return APP_FACTORY  # each worker, a process of its own, loads its own catalog
    from app.main import create_app

    return create_app(settings, catalog)


def _migrate_if_behind(database_url: str, engine: Engine) -> None:
    """Upgrade the embedded database unless it is at head already (told without Alembic)."""
    from app import migrations

    try:
        behind = not migrations.is_at_head(engine)
    finally:
        engine.dispose()
    if behind:
        with _collection(enabled=True):  # a migration may rewrite every row
            migrations.upgrade(database_url)


@contextmanager
def _collection(*, enabled: bool) -> Iterator[None]:
    """The cyclic garbage collector on or off for a while; as it was, afterwards."""
    was_enabled = gc.isenabled()
    gc.enable() if enabled else gc.disable()
    try:
        yield
    finally:
        gc.enable() if was_enabled else gc.disable()


main.add_command(norms)
for command in (researchers, studies, audit):
    main.add_command(command)


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration."""
    from app import migrations

    migrations.upgrade(get_settings().database_url)
    click.echo("database is at the latest migration")


@main.group()
def questionnaires() -> None:
    """Questionnaire definitions."""


@questionnaires.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check definition and norms files; list every problem and exit non-zero if there is one."""
    from scoring.loading import DefinitionError, load_definitions
    from scoring.norms import is_norms_path

    norms_paths = [p for p in paths if is_norms_path(p)]
    paths = tuple(p for p in paths if not is_norms_path(p))
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
        for earlier in definition.same_measure_as:
            click.echo(f"  measures the same as {earlier} (checked against its archived file)")
    if norms_paths:
        validate_norms(norms_paths, loaded)


@main.command()
@click.argument("questionnaire_id")
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
def score(questionnaire_id: str, csv_file: TextIO, output: TextIO) -> None:
    """Score a CSV of answer sets (a column per item id) into a CSV of results."""
    from app.catalog import load_catalog
    from scoring.batch import write_scores

    loaded = load_catalog(get_settings()).get(questionnaire_id)
    if loaded is None:
        raise click.ClickException(f"no questionnaire {questionnaire_id!r}")
    count = write_scores(loaded.definition, csv_file, output)
    click.echo(f"scored {count} row(s) with {loaded.content_hash}", err=True)


@main.command()
def purge() -> None:
    """Delete incomplete responses past their expiry."""
    from app.catalog import load_catalog
    from app.services.responses import ResponseContext
    from app.services.responses import purge as purge_expired

    settings = get_settings()
    with unit_of_work() as session:
        report = purge_expired(ResponseContext(session, load_catalog(settings), settings))
        session.commit()
    click.echo(
        f"deleted {report.incomplete_responses} expired incomplete response(s) and "
        f"{report.idempotency_records} expired idempotency record(s)"
    )
