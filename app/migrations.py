"""Alembic, driven from code: upgrade to head, and tell whether the schema is at head.

Telling needs no Alembic: the head is read once per process from the migration files' own
``revision`` and ``down_revision`` lines (the history is one straight line, which
``tests/test_migrations.py`` keeps so), and the database's revision from its
``alembic_version`` table. Alembic, which takes longer to import than the rest of start-up
together, is imported only when the schema is changed, so a process that starts on a
migrated database and a ``/readyz`` probe never pay for it.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from scoring.packaged import packaged_folder

if TYPE_CHECKING:
    from alembic.config import Config

ALEMBIC_DIR = packaged_folder("app", "_migrations", "alembic")
"""env.py, script.py.mako and versions/: the repository's alembic/, app/_migrations installed."""
VERSION_TABLE = "alembic_version"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def head_revisions() -> frozenset[str]:
    """The revisions no other revision builds on (one, in a straight history); read once."""
    return _heads(ALEMBIC_DIR / "versions")


@cache
def _heads(versions: Path) -> frozenset[str]:
    revisions: set[str] = set()
    below: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        found = _revision_lines(path)
        if "revision" not in found:
            continue
        revision = found["revision"]
        if not isinstance(revision, str):
            raise ValueError(f"{path}: revision must be a string")
        revisions.add(revision)
        down = found.get("down_revision")
        if isinstance(down, str):
            below.add(down)
        elif isinstance(down, tuple | list):
            below.update(str(d) for d in down)
    return frozenset(revisions - below)


_FIRST_DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s", re.MULTILINE)


def _revision_lines(path: Path) -> dict[str, object]:
    """The module-level ``revision`` and ``down_revision`` assignments of a migration file.

    A migration file states them ahead of its functions, so only that head is parsed (a
    process reads the history at start); a file that does otherwise is parsed whole."""
    text = path.read_text(encoding="utf-8")
    first = _FIRST_DEFINITION.search(text)
    if first is not None:
        try:
            found = _assignments(ast.parse(text[: first.start()], str(path)))
        except SyntaxError:  # the cut fell inside a string
            found = {}
        if {"revision", "down_revision"} <= found.keys():
            return found
    return _assignments(ast.parse(text, str(path)))


def _assignments(module: ast.Module) -> dict[str, object]:
    found: dict[str, object] = {}
    for statement in module.body:
        targets: list[ast.expr]
        if isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(value)
    return found


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database records (none before its first migration)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return frozenset()
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608
        return frozenset(str(row[0]) for row in rows)


def is_at_head(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()
