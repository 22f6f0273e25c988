"""The codebook is a Frictionless Data Package that describes the CSV exports well enough for
the ``frictionless`` library to validate them, and says how every number was made."""

from __future__ import annotations

import json
from pathlib import Path

import frictionless
import numpy as np
import pytest
from fastapi.testclient import TestClient
from research_support import QUESTIONNAIRE, Respondent, export, insert, latent_answers, new_key, ok

from scoring.catalog import Catalog


@pytest.fixture
def package(research_client: TestClient, catalog: Catalog, tmp_path: Path) -> Path:
    """A study folder: datapackage.json and the three CSV exports next to it."""
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    rng = np.random.default_rng(7)
    insert(
        engine,
        catalog,
        [
            Respondent(a, study=str(rng.choice(["a", "b"])))
            for a in latent_answers(rng, 150, catalog)
        ],
    )
    key = new_key(engine)
    folder = tmp_path / "study"
    folder.mkdir()
    codebook = export(research_client, "codebook", key)
    assert codebook.status_code == 200
    (folder / "datapackage.json").write_text(codebook.text)
    for name, params in (("summary", {"group_by": "study"}), ("histograms", {}), ("items", {})):
        response = export(research_client, name, key, format="csv", **params)
        assert response.status_code == 200
        (folder / f"{name}.csv").write_text(response.text)
    return folder


def test_the_exports_validate_against_the_codebook(package: Path) -> None:
    report = frictionless.validate(str(package / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert {task.name for task in report.tasks} == {"summary", "histograms", "items"}
    assert all(task.stats["rows"] > 10 for task in report.tasks)


def test_a_table_that_breaks_the_codebook_fails_validation(package: Path) -> None:
    csv = package / "items.csv"
    csv.write_text(csv.read_text().replace(",alpha,", ",omega,", 1))
    report = frictionless.validate(str(package / "datapackage.json"))
    assert not report.valid
    assert "constraint-error" in {error[1] for error in report.flatten(["fieldName", "type"])}


def test_the_codebook_says_what_was_scored_how_and_under_which_privacy_rules(
    package: Path, catalog: Catalog
) -> None:
    codebook = json.loads((package / "datapackage.json").read_text())
    loaded = catalog.definitions[QUESTIONNAIRE]
    assert codebook["questionnaire"] == {
        "id": QUESTIONNAIRE,
        "version": loaded.definition.version,
        "hash": loaded.content_hash,
    }
    reversed_items = {i["id"] for i in codebook["scoring"]["items"] if i["reverse"]}
    assert reversed_items == {i.id for i in loaded.definition.items if i.reverse}
    anxiety = next(d for d in codebook["scoring"]["dimensions"] if d["id"] == "anxiety")
    assert anxiety["needed_answers"] == 7
    assert anxiety["elevated_from"] == 4.5
    assert codebook["privacy"]["suppression"]["min_cell_size"] == 11
    assert codebook["privacy"]["dp_total_epsilon_per_study"] == 1.0
    references = " ".join(s["reference"] for s in codebook["statistics"])
    assert "Cronbach, L. J. (1951)" in references
    assert "Hyndman" in references
    fields = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in codebook["resources"]}
    assert fields["summary"] == [
        "group_by",
        "group",
        "section",
        "category",
        "statistic",
        "value",
        "withheld",
    ]


def test_the_codebook_needs_a_known_questionnaire(research_client: TestClient) -> None:
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]
    response = export(research_client, "codebook", key, questionnaire_id="no-such-thing")
    assert response.status_code == 422
    assert [e["item"] for e in response.json()["errors"]] == ["questionnaire_id"]
    ok(export(research_client, "codebook", key))
