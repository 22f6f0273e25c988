"""The bundled questionnaire's first release (1.0.0), kept in ``questionnaires/archive/``, as a
catalog of its own: what an instance served before the wellbeing instructions were reworded,
so tests can store responses under its content hash and read them with today's catalog."""

from __future__ import annotations

from pathlib import Path

from scoring.catalog import BUNDLED_DIR, Catalog
from scoring.loading import ARCHIVE_FOLDER

QUESTIONNAIRE = "attachment-self-reflection"
FIRST_RELEASE_FILE = BUNDLED_DIR / ARCHIVE_FOLDER / f"{QUESTIONNAIRE}-1.0.0.yaml"
FIRST_RELEASE_HASH = "sha256:6eff2fe4a4687f77856bfe4501e55d5182689c2ef9ed10ffe3ae5f7b21144626"
"""Computed from the bundled file before the rewording; every response stored until then
carries it."""


def first_release_catalog(folder: Path) -> Catalog:
    """A catalog serving 1.0.0 in place of the current definition, with the same content and
    crisis resources (``folder``, made if need be, is an empty folder to build it in)."""
    folder.mkdir(parents=True, exist_ok=True)
    for shared in ("content", "resources"):
        (folder / shared).symlink_to(BUNDLED_DIR / shared, target_is_directory=True)
    (folder / f"{QUESTIONNAIRE}.yaml").write_bytes(FIRST_RELEASE_FILE.read_bytes())
    catalog = Catalog.load(bundled_dir=folder)
    assert catalog.definitions[QUESTIONNAIRE].content_hash == FIRST_RELEASE_HASH
    return catalog
