"""What the wheel ships: every package folder, and the data folders mapped inside packages.

Building a wheel takes a minute, so `.ci/check-wheel` builds, installs and serves one in CI;
these tests keep the list in pyproject.toml, which that build follows, complete.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from app import migrations
from scoring.catalog import BUNDLED_DIR
from scoring.packaged import PackagedDataMissing, packaged_folder

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]


def _folders(top: Path, package: str) -> set[str]:
    """Package names of ``top`` and every folder below it that holds a file."""
    names = set()
    for folder in [top, *(p for p in top.rglob("*") if p.is_dir())]:
        if folder.name == "__pycache__" or not any(f.is_file() for f in folder.iterdir()):
            continue
        if folder.parent.name == "norms" and folder.parent.parent == ROOT / "questionnaires":
            continue  # norms/<questionnaire id>/ ships as package data of the norms folder
        names.add(".".join([package, *folder.relative_to(top).parts]))
    return names


def test_every_folder_of_code_and_data_is_a_listed_package() -> None:
    mapped = {package: ROOT / folder for package, folder in SETUPTOOLS["package-dir"].items()}
    expected = _folders(ROOT / "app", "app") | _folders(ROOT / "scoring", "scoring")
    for package, folder in mapped.items():
        expected |= _folders(folder, package)
    assert set(SETUPTOOLS["packages"]) == expected


def test_the_data_folders_keep_their_place_in_the_repository_and_their_own_names() -> None:
    assert SETUPTOOLS["package-dir"] == {
        "app._migrations": "alembic",
        "scoring._bundled": "questionnaires",
    }
    # A source checkout reads the top-level folders; nothing named `alembic` is a package of ours.
    assert BUNDLED_DIR == ROOT / "questionnaires"
    assert migrations.ALEMBIC_DIR == ROOT / "alembic"
    assert not (ROOT / "alembic" / "__init__.py").exists()


def test_every_data_file_in_a_shipped_folder_matches_a_package_data_pattern() -> None:
    patterns = SETUPTOOLS["package-data"]["*"]
    folders = [ROOT / "questionnaires", ROOT / "alembic", ROOT / "app" / "web"]
    unmatched = [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".py"
        and not any(path.match(pattern) for pattern in patterns)
    ]
    assert unmatched == []


def test_a_missing_data_folder_is_named_at_start_rather_than_read_as_empty() -> None:
    with pytest.raises(PackagedDataMissing, match="_nowhere"):
        packaged_folder("scoring", "_nowhere", "nowhere")
    # A folder of the checkout is used only beside the package's own pyproject.toml.
    assert packaged_folder("scoring", "_nowhere", "questionnaires") == ROOT / "questionnaires"
