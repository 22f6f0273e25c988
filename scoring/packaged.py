"""Folders of data that ship inside the distribution, found the same way installed or not.

The repository keeps its data at the top: ``questionnaires/`` (definitions, content, crisis
resources) and ``alembic/`` (migrations). A wheel carries them inside the packages, as
``scoring/_bundled`` and ``app/_migrations`` (``[tool.setuptools.package-dir]`` in
pyproject.toml), so an installed copy puts nothing else into site-packages and the ``alembic``
library keeps its import name. ``packaged_folder`` answers with the installed folder when the
package has it, else with the checkout's top-level folder (an editable install).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


class PackagedDataMissing(FileNotFoundError):
    """The installation lacks a data folder: it was built without it, or is broken."""


def packaged_folder(package: str, installed: str, checkout: str) -> Path:
    """``installed`` inside ``package``; in a source checkout, ``checkout`` beside it.

    The checkout is recognised by its pyproject.toml, so an installed package never reads a
    folder that merely happens to have the same name in site-packages.
    """
    root = files(package)
    if not isinstance(root, Path):
        raise PackagedDataMissing(f"{package} must be installed as files, not from an archive")
    inside = root / installed
    if inside.is_dir():
        return inside
    source = root.parent
    if (source / "pyproject.toml").is_file() and (source / checkout).is_dir():
        return source / checkout
    raise PackagedDataMissing(
        f"{inside} is missing: reinstall the package (or run from a source checkout)"
    )
