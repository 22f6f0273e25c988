"""``securebase norms``: build a norms file from this instance's consenting responses."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.config import get_settings
from scoring.norms import NORMS_FOLDER

if TYPE_CHECKING:
    from scoring.loading import LoadedDefinition

# Each command imports what it uses when it runs (see app.cli).


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


@click.group()
def norms() -> None:
    """Norms: where a score stands among the people who took the questionnaire."""


@norms.command("build")
@click.argument("questionnaire_id")
@click.option("--study", metavar="CODE", help="Only responses of this study.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC) included.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC); default today.")
@click.option("--epsilon", type=float, default=1.0, show_default=True, help="Privacy cost.")
@click.option(
    "--built-by", help="Who built the norms, as written in the file (default: the OS user)."
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("questionnaires") / NORMS_FOLDER,
    show_default=True,
    help="The norms folder of a checkout (relative to the current folder) or of "
    "SECUREBASE_QUESTIONNAIRES_DIR; the file goes to <dir>/<questionnaire id>/<date>.yaml.",
)
def build(
    questionnaire_id: str,
    study: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    epsilon: float,
    built_by: str | None,
    output_dir: Path,
) -> None:
    """Release a differentially private norms file and charge its epsilon to the ledger."""
    from sqlmodel import Session

    from app.catalog import load_catalog
    from app.db import create_db_engine
    from app.errors import SecureBaseError
    from app.services import norms as norms_service
    from app.services.research.context import ResearchContext

    target = output_dir / questionnaire_id / f"{dt.datetime.now(dt.UTC).date().isoformat()}.yaml"
    if target.exists():
        raise click.ClickException(f"{target} exists: norms are built at most once a day")
    settings = get_settings()
    request = norms_service.NormsRequest(
        questionnaire_id=questionnaire_id,
        epsilon=epsilon,
        built_by=built_by if built_by is not None else _operator(),
        study=study,
        since=since.date() if since else None,
        until=until.date() if until else None,
    )
    engine = create_db_engine(settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            ctx = ResearchContext(session, load_catalog(settings), settings)
            release = norms_service.build(ctx, request)
            if release.text is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(release.text, encoding="utf-8")
            session.commit()
    except SecureBaseError as exc:
        details = "; ".join(f"{p.item}: {p.message}" for p in exc.problems)
        raise click.ClickException(f"{exc.detail} {details}".strip()) from exc
    finally:
        engine.dispose()
    cost = (
        f"epsilon {release.epsilon_spent:g} charged to {norms_service.ledger_key(questionnaire_id)}"
        f" ({release.budget_spent:g} of {release.budget_total:g} spent, "
        f"{release.budget_left:g} left)"
    )
    if release.refusal is not None:
        click.echo(cost, err=True)
        raise click.ClickException(release.refusal)
    click.echo(f"wrote {target} (N about {release.n_released}); {cost}")
    click.echo("Review it, then commit it beside the definition to ship it.", err=True)


def validate_norms(paths: list[Path], given: list[LoadedDefinition]) -> None:
    """Check norms files against the definitions given beside them and those in use (bundled
    and ``SECUREBASE_QUESTIONNAIRES_DIR``); exit non-zero on any problem."""
    from scoring.catalog import BUNDLED_DIR
    from scoring.loading import DefinitionError, definition_files, load_definitions
    from scoring.norms import check_norms

    settings = get_settings()
    folders = [BUNDLED_DIR, *([settings.questionnaires_dir] if settings.questionnaires_dir else [])]
    known = list(given)
    for folder in folders:
        try:
            known += load_definitions(definition_files(folder))
        except (DefinitionError, OSError):
            continue  # reported when those files are validated themselves
    passed, problems = check_norms(paths, known)
    for path, checked in passed:
        click.echo(
            f"{path}: ok (norms of {checked.questionnaire.id}, N {checked.sample.n}, "
            f"{checked.questionnaire.hash})"
        )
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)


@norms.command("seal")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def seal(path: Path) -> None:
    """Write the checksum of a norms file written by hand (e.g. from a published study),
    after checking its structure; review the numbers before sealing them."""
    import yaml
    from pydantic import ValidationError

    from scoring.norms import dump_norms

    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(content, dict):
            raise click.ClickException(f"{path}: not a norms file")
        text = dump_norms(content)
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{path}: cannot be read: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise click.ClickException(f"{path}: {problems}") from exc
    path.write_text(text, encoding="utf-8")
    click.echo(f"sealed {path}; check it with: securebase questionnaires validate {path}")
