"""``securebase researchers``, ``studies`` and ``audit``: who may read the research exports,
which studies exist, and what was asked of them."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import click

from app.cli_session import read, unit_of_work, when
from app.config import get_settings

# Each command imports what it uses when it runs (see app.cli).


@click.group()
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
        with unit_of_work() as session:
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


@researchers.command("list")
def researchers_list() -> None:
    """List the keys (never the keys themselves)."""
    from app.services.research import access as research_access

    keys = read(research_access.list_keys)
    click.echo(f"{'id':>4}  {'created':<20}  {'status':<20}  {'studies':<24}  name")
    for key in keys:
        status = "revoked " + when(key.revoked_at) if key.revoked_at else "active"
        studies = ", ".join(key.studies) if not key.all_studies else "(all)"
        click.echo(
            f"{key.id:>4}  {when(key.created_at):<20}  {status:<20}  {studies:<24}  {key.name}"
        )


@researchers.command("revoke")
@click.argument("key_id", type=int)
def researchers_revoke(key_id: int) -> None:
    """Revoke key KEY_ID: it stops working at once."""
    from app.errors import NotFound
    from app.services.research import access as research_access

    try:
        with unit_of_work() as session:
            record = research_access.revoke(session, key_id, dt.datetime.now(dt.UTC))
            session.commit()
    except NotFound as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"researcher key {record.id} ({record.name}) is revoked")


@click.group()
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
        with unit_of_work() as session:
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

    registered = read(study_registry.list_studies)
    click.echo(f"{'study':<24}  {'exports':<8}  {'registered':<20}  enrolment code")
    for study in registered:
        click.echo(
            f"{study.code:<24}  {study.exports:<8}  {when(study.created_at):<20}  "
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
        report = read(lambda session: study_registry.show(session, code))
    except NotFound as exc:
        raise click.ClickException(exc.detail) from exc
    study = report.study
    click.echo(f"study {study.code}, exports {study.exports}, registered {when(study.created_at)}")
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


@click.command()
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
def audit(limit: int) -> None:
    """List the latest research calls: outcome, key, endpoint, filters, time, N, withheld."""
    from app.services.research import audit as research_audit

    entries = read(lambda session: research_audit.latest(session, limit))
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
            f"{entry.id:>6}  {when(entry.created_at):<20}  {entry.outcome:>7}  "
            f"{key[:24]:<24}  {entry.endpoint:<10}  "
            f"{privacy:<11}  {n:>8}  {entry.cells_suppressed:>8}  {filters}"
        )
