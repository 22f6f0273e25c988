"""The ``securebase`` command."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO, TypedDict, TypeVar
from urllib.parse import quote

import click

from app.cli_norms import norms, validate_norms
from app.config import get_settings, split_address

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine
    from sqlmodel import Session

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


@main.group()
def researchers() -> None:
    """Researcher keys for the research exports."""


@researchers.command("add")
@click.argument("name")
@click.option(
    "--study",
    "studies",
    multiple=True,
    metavar="CODE",
    help="A study the key may see (repeat for several; none: every study).",
)
def researchers_add(name: str, studies: tuple[str, ...]) -> None:
    """Create a key for NAME and print it (once: only its hash is stored)."""
    from app.errors import InvalidInput
    from app.services.research import access as research_access

    try:
        with _unit_of_work() as session:
            record, key = research_access.create_key(
                session, name, studies, dt.datetime.now(dt.UTC)
            )
            session.commit()
    except InvalidInput as exc:
        raise click.ClickException(
            "; ".join(f"{p.item}: {p.message}" for p in exc.problems)
        ) from exc
    scope = ", ".join(record.studies) if record.studies else "every study"
    click.echo(f"researcher key {record.id} for {record.name} ({scope}):", err=True)
    click.echo(key)
    click.echo("Store it now: it cannot be shown again.", err=True)


T = TypeVar("T")


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """A session on the configured database (committed by the caller); the engine is
    disposed of afterwards."""
    from sqlmodel import Session

    from app.db import create_db_engine

    engine = create_db_engine(get_settings())
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _read(query: Callable[[Session], T]) -> T:
    """What ``query`` reads from the configured database."""
    with _unit_of_work() as session:
        return query(session)


@researchers.command("list")
def researchers_list() -> None:
    """List the keys (never the keys themselves)."""
    from app.services.research import access as research_access

    keys = _read(research_access.list_keys)
    click.echo(f"{'id':>4}  {'created':<20}  {'status':<20}  {'studies':<24}  name")
    for key in keys:
        status = "revoked " + _when(key.revoked_at) if key.revoked_at else "active"
        studies = ", ".join(key.studies) if not key.all_studies else "(all)"
        click.echo(
            f"{key.id:>4}  {_when(key.created_at):<20}  {status:<20}  {studies:<24}  {key.name}"
        )


@researchers.command("revoke")
@click.argument("key_id", type=int)
def researchers_revoke(key_id: int) -> None:
    """Revoke key KEY_ID: it stops working at once."""
    from app.errors import NotFound
    from app.services.research import access as research_access

    try:
        with _unit_of_work() as session:
            record = research_access.revoke(session, key_id, dt.datetime.now(dt.UTC))
            session.commit()
    except NotFound as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"researcher key {record.id} ({record.name}) is revoked")


@main.group()
def studies() -> None:
    """The study registry: enrolment codes, how each study is released, daily activity."""


def _enrolment_link(enrolment_code: str, questionnaire: str | None) -> str:
    base = get_settings().public_url or "http://127.0.0.1:8000"
    link = f"{base}/?study={enrolment_code}"
    return f"{link}&questionnaire={quote(questionnaire, safe='')}" if questionnaire else link


def _offered(
    _context: click.Context, _parameter: click.Parameter, questionnaire: str | None
) -> str | None:
    """The questionnaire of ``--questionnaire``, checked before anything is done."""
    if questionnaire is not None:
        from app.catalog import load_catalog

        if load_catalog(get_settings()).get(questionnaire) is None:
            raise click.BadParameter(f"{questionnaire!r} is not a questionnaire offered here")
    return questionnaire


_LINK_QUESTIONNAIRE = click.option(
    "--questionnaire",
    metavar="ID",
    default=None,
    callback=_offered,
    help="Print the enrolment link for this questionnaire (default: the site's first).",
)


@studies.command("add")
@click.argument("code")
@_LINK_QUESTIONNAIRE
@click.option(
    "--exports",
    type=click.Choice(["exact", "dp-only"]),
    default="exact",
    show_default=True,
    help="exact: suppressed exports and privacy=dp; dp-only: privacy=dp releases only.",
)
def studies_add(code: str, exports: str, questionnaire: str | None) -> None:
    """Register study CODE and print its enrolment code (the code its links carry)."""
    from app.errors import Conflict, InvalidInput
    from app.services import studies as study_registry

    try:
        with _unit_of_work() as session:
            study = study_registry.add_study(session, code, exports, dt.datetime.now(dt.UTC))
            session.commit()
    except InvalidInput as exc:
        raise click.ClickException(
            "; ".join(f"{p.item}: {p.message}" for p in exc.problems)
        ) from exc
    except Conflict as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"study {study.code} (exports: {study.exports}); enrolment code:", err=True)
    click.echo(study.enrolment_code)
    link = _enrolment_link(study.enrolment_code, questionnaire)
    click.echo(f"enrolment link: {link}", err=True)


@studies.command("list")
def studies_list() -> None:
    """List the registered studies with their enrolment codes."""
    from app.services import studies as study_registry

    registered = _read(study_registry.list_studies)
    click.echo(f"{'study':<24}  {'exports':<8}  {'registered':<20}  enrolment code")
    for study in registered:
        click.echo(
            f"{study.code:<24}  {study.exports:<8}  {_when(study.created_at):<20}  "
            f"{study.enrolment_code}"
        )


@studies.command("show")
@click.argument("code")
@_LINK_QUESTIONNAIRE
def studies_show(code: str, questionnaire: str | None) -> None:
    """Study CODE: its enrolment link, and responses submitted and erased per day (UTC)."""
    from app.errors import NotFound
    from app.services import studies as study_registry

    try:
        report = _read(lambda session: study_registry.show(session, code))
    except NotFound as exc:
        raise click.ClickException(exc.detail) from exc
    study = report.study
    click.echo(f"study {study.code}, exports {study.exports}, registered {_when(study.created_at)}")
    click.echo(f"enrolment link: {_enrolment_link(study.enrolment_code, questionnaire)}")
    click.echo(f"{'day (UTC)':<10}  {'submitted':>9}  {'consented':>9}  {'erased':>6}")
    for day in report.days:
        click.echo(
            f"{day.day.isoformat():<10}  {day.submitted:>9}  {day.consented:>9}  {day.erased:>6}"
        )
    click.echo(
        "submitted: submitted that day and still stored; consented: of those, with research "
        "consent; erased: submitted responses erased that day. A burst of erasures after a "
        "burst of submissions is what padding a study to read its small counts looks like."
    )


@main.command()
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
def audit(limit: int) -> None:
    """List the latest research calls: outcome, key, endpoint, filters, time, N, withheld."""
    from app.services.research import audit as research_audit

    entries = _read(lambda session: research_audit.latest(session, limit))
    click.echo(
        f"{'id':>6}  {'time (UTC)':<20}  {'outcome':>7}  {'key':<24}  {'endpoint':<10}  "
        f"{'privacy':<11}  {'N':>8}  {'withheld':>8}  filters"
    )
    for entry in entries:
        privacy = entry.privacy + (f" {entry.epsilon:g}" if entry.epsilon is not None else "")
        filters = json.dumps(
            {k: v for k, v in entry.filters.items() if v is not None}, sort_keys=True
        )
        n = "" if entry.n is None else str(entry.n)
        key = "(no valid key)" if entry.key_id is None else f"{entry.key_id} {entry.key_name}"
        click.echo(
            f"{entry.id:>6}  {_when(entry.created_at):<20}  {entry.outcome:>7}  "
            f"{key[:24]:<24}  {entry.endpoint:<10}  "
            f"{privacy:<11}  {n:>8}  {entry.cells_suppressed:>8}  {filters}"
        )


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@main.command()
def purge() -> None:
    """Delete incomplete responses past their expiry."""
    from app.catalog import load_catalog
    from app.services.responses import ResponseContext
    from app.services.responses import purge as purge_expired

    settings = get_settings()
    with _unit_of_work() as session:
        report = purge_expired(ResponseContext(session, load_catalog(settings), settings))
        session.commit()
    click.echo(
        f"deleted {report.incomplete_responses} expired incomplete response(s) and "
        f"{report.idempotency_records} expired idempotency record(s)"
    )
