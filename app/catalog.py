"""The catalog the settings describe: the bundled questionnaires and those of
``SECUREBASE_QUESTIONNAIRES_DIR``. Kept apart from the application factory so that a command
that only needs the questionnaires does not import the web application."""

from __future__ import annotations

from app.config import Settings
from scoring.catalog import Catalog


def load_catalog(settings: Settings) -> Catalog:
    extra = [settings.questionnaires_dir] if settings.questionnaires_dir else []
    return Catalog.load(extra)
