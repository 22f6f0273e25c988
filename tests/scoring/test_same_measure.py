"""A definition may declare earlier versions that measure the same (``research:
same_measure_as``), so that research keeps pooling their responses: the loader refuses a
malformed hash, the definition's own hash, a hash listed twice, a hash whose earlier file is
not kept in ``archive/``, and an earlier file that differs in anything but presentation text."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from scoring.catalog import BUNDLED_DIR, Catalog
from scoring.lineage import first_difference
from scoring.loading import (
    ARCHIVE_FOLDER,
    DefinitionError,
    DefinitionProblem,
    content_hash,
    load_definition,
    parse_definition,
)

BUNDLED_ID = "attachment-self-reflection"
BUNDLED_FILE = BUNDLED_DIR / f"{BUNDLED_ID}.yaml"
FIRST_RELEASE = BUNDLED_DIR / ARCHIVE_FOLDER / f"{BUNDLED_ID}-1.0.0.yaml"
FIRST_RELEASE_HASH = "sha256:6eff2fe4a4687f77856bfe4501e55d5182689c2ef9ed10ffe3ae5f7b21144626"
"""The content hash every response to the bundled questionnaire was stored with before its
wellbeing instructions were reworded (computed from the file as it was then)."""


def write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def problems_of(path: Path) -> tuple[DefinitionProblem, ...]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    return caught.value.problems


@pytest.fixture
def earlier(tmp_path: Path, minimal_definition: dict[str, Any]) -> tuple[Path, str]:
    """A definition's earlier version kept in the archive, and its content hash."""
    kept = write(tmp_path / ARCHIVE_FOLDER / "mini-1.0.0.yaml", minimal_definition)
    return tmp_path, load_definition(kept).content_hash


def reworded(minimal_definition: dict[str, Any], *declared: str) -> dict[str, Any]:
    document = copy.deepcopy(minimal_definition)
    document["version"] = "1.0.1"
    document["wellbeing"]["instructions"] = {"en": "Optional. Help is listed with every result."}
    document["research"] = {"same_measure_as": list(declared)}
    return document


def test_a_reworded_version_declares_the_earlier_hash_and_keeps_its_own(
    earlier: tuple[Path, str], minimal_definition: dict[str, Any]
) -> None:
    folder, earlier_hash = earlier
    loaded = load_definition(
        write(folder / "mini.yaml", reworded(minimal_definition, earlier_hash))
    )

    assert loaded.content_hash != earlier_hash
    assert loaded.measured_hashes == (loaded.content_hash, earlier_hash)
    # The declaration is not part of the hash: adding it later mints no new hash.
    without = reworded(minimal_definition)
    del without["research"]
    assert content_hash(parse_definition(without, "test")) == loaded.content_hash


@pytest.mark.parametrize(
    "declared",
    [
        "6eff2fe4a4687f77856bfe4501e55d5182689c2ef9ed10ffe3ae5f7b21144626",
        "sha256:older",
        "sha256:" + "A" * 64,
        "",
    ],
)
def test_a_malformed_hash_is_refused_naming_the_field(
    tmp_path: Path, minimal_definition: dict[str, Any], declared: str
) -> None:
    path = write(tmp_path / "mini.yaml", reworded(minimal_definition, declared))

    (problem,) = problems_of(path)
    assert problem.path == "research.same_measure_as[0]"
    assert "sha256:" in problem.message
    assert "64" in problem.message


def test_an_empty_declaration_is_refused(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    (problem,) = problems_of(write(tmp_path / "mini.yaml", reworded(minimal_definition)))
    assert problem.path == "research.same_measure_as"


def test_the_definitions_own_hash_is_refused(
    earlier: tuple[Path, str], minimal_definition: dict[str, Any]
) -> None:
    folder, earlier_hash = earlier
    path = write(folder / "mini.yaml", reworded(minimal_definition, earlier_hash))
    own = load_definition(path).content_hash
    write(path, reworded(minimal_definition, earlier_hash, own))

    (problem,) = problems_of(path)
    assert problem.path == "research.same_measure_as[1]"
    assert "own content hash" in problem.message


def test_a_hash_listed_twice_is_refused(
    earlier: tuple[Path, str], minimal_definition: dict[str, Any]
) -> None:
    folder, earlier_hash = earlier
    path = write(folder / "mini.yaml", reworded(minimal_definition, earlier_hash, earlier_hash))

    (problem,) = problems_of(path)
    assert problem.path == "research.same_measure_as[1]"
    assert "twice" in problem.message


def test_a_hash_without_its_earlier_file_in_the_archive_is_refused(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    path = write(tmp_path / "mini.yaml", reworded(minimal_definition, "sha256:" + "1" * 64))

    (problem,) = problems_of(path)
    assert problem.path == "research.same_measure_as[0]"
    assert str(tmp_path / ARCHIVE_FOLDER) in problem.message


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["items"][1]["text"].update(en="Two, reworded"), "items[1].text.en"),
        (lambda d: d["items"][0].update(reverse=True), "items[0].reverse"),
        (lambda d: d["items"].reverse(), "items[0].id"),
        (
            lambda d: d["scales"]["agree"]["labels"].update(en=["No", "Perhaps", "Yes"]),
            "scales.agree.labels.en[1]",
        ),
        (
            lambda d: d["dimensions"][0]["bands"].update(elevated_from=2.75),
            "dimensions[0].bands.elevated_from",
        ),
        (
            lambda d: d["wellbeing"]["items"][0]["text"].update(en="Sad"),
            "wellbeing.items[0].text.en",
        ),
        (
            lambda d: d["wellbeing"]["risk_rules"][0].update(at_least=2),
            "wellbeing.risk_rules[0].at_least",
        ),
    ],
    ids=["wording", "keying", "order", "anchors", "bands", "wellbeing-item", "risk-rule"],
)
def test_an_earlier_version_that_measures_differently_is_refused(
    earlier: tuple[Path, str], minimal_definition: dict[str, Any], change: Any, where: str
) -> None:
    folder, earlier_hash = earlier
    document = reworded(minimal_definition, earlier_hash)
    change(document)
    path = write(folder / "mini.yaml", document)

    (problem,) = problems_of(path)
    assert problem.path == "research.same_measure_as[0]"
    assert "mini-1.0.0.yaml" in problem.message
    assert f"{where} is not the same" in problem.message


def test_presentation_text_may_change(
    earlier: tuple[Path, str], minimal_definition: dict[str, Any]
) -> None:
    folder, earlier_hash = earlier
    document = reworded(minimal_definition, earlier_hash)
    document["title"] = {"en": "Mini, retitled"}
    document["instructions"] = {"en": "Answer as you are."}
    document["estimated_minutes"] = 2
    document["dimensions"][0]["label"] = {"en": "Comfort with closeness"}
    document["tendencies"][0]["label"] = {"en": "Anxious leaning"}
    document["content"] = {"general": ["seeking-support", "clinical-takeaway"]}

    assert load_definition(write(folder / "mini.yaml", document)).definition.same_measure_as == (
        earlier_hash,
    )


def test_the_bundled_questionnaire_pools_exactly_its_first_release() -> None:
    current = load_definition(BUNDLED_FILE)
    first = load_definition(FIRST_RELEASE)

    assert first.content_hash == FIRST_RELEASE_HASH
    assert current.content_hash != FIRST_RELEASE_HASH
    assert current.definition.same_measure_as == (FIRST_RELEASE_HASH,)
    assert first_difference(first.definition, current.definition) is None
    # Only the wellbeing instructions and the version moved.
    assert current.definition.wellbeing != first.definition.wellbeing
    assert current.definition.items == first.definition.items


def test_archived_files_are_never_offered_as_questionnaires(tmp_path: Path) -> None:
    # A copy of the bundled folder, with the archive, loads one questionnaire per id.
    root = tmp_path / "bundled"
    shutil.copytree(BUNDLED_DIR, root)
    catalog = Catalog.load(bundled_dir=root)

    assert list(catalog.definitions) == [BUNDLED_ID]
    assert catalog.definitions[BUNDLED_ID].definition.same_measure_as == (FIRST_RELEASE_HASH,)
