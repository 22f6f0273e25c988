"""A broken definition file is reported in full: every problem, with its file and location."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scoring.catalog import Catalog
from scoring.loading import DefinitionError, DefinitionProblem, load_definition, load_definitions

HERE = Path(__file__).resolve().parent
MANY_ERRORS = HERE / "fixtures" / "invalid" / "many-errors.yaml"


def problems_of(call: Any, *args: Any) -> tuple[DefinitionProblem, ...]:
    with pytest.raises(DefinitionError) as caught:
        call(*args)
    return caught.value.problems


def reported(problems: tuple[DefinitionProblem, ...], file: Path, path: str, fragment: str) -> bool:
    return any(p.file == str(file) and p.path == path and fragment in p.message for p in problems)


def write(path: Path, document: object) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


# Each planted error of fixtures/invalid/many-errors.yaml: dotted path, part of the message.
PLANTED = [
    ("estimated_minutes", "integer"),
    ("scales.agree", "has 6 labels; the scale has 7 points"),
    ("items[0].weight", "Extra inputs are not permitted"),
    ("items[1].text", "fr"),
    ("items[2].dimension", "anxeity"),
    ("items[3].id", "duplicate id 'a01'"),
    ("wellbeing.risk_rules[0].at_least", "lowest answer"),
    ("wellbeing.risk_rules[1].item", "w9"),
]


def test_every_planted_error_is_reported_at_once() -> None:
    problems = problems_of(load_definition, MANY_ERRORS)

    missing = [
        (path, fragment)
        for path, fragment in PLANTED
        if not reported(problems, MANY_ERRORS, path, fragment)
    ]
    assert missing == [], f"not reported: {missing}; reported: {[str(p) for p in problems]}"


def test_cross_reference_problems_are_all_reported_together(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    document = minimal_definition
    document["items"][0]["text"] = {"fr": "Un"}  # no English text
    document["items"][1]["dimension"] = "distance"  # no such dimension
    document["items"].append(dict(document["items"][0], text={"en": "Three"}))  # id c1 again
    document["wellbeing"]["risk_rules"][0]["at_least"] = 0  # the scale minimum
    document["wellbeing"]["risk_rules"].append({"item": "w2", "at_least": 1, "level": "urgent"})
    document["tendencies"][0]["dimension"] = "distance"
    file = write(tmp_path / "cross.yaml", document)

    problems = problems_of(load_definition, file)

    assert reported(problems, file, "items[0].text", "en")
    assert reported(problems, file, "items[1].dimension", "'distance'")
    assert reported(problems, file, "items[2].id", "duplicate id 'c1'")
    assert reported(problems, file, "wellbeing.risk_rules[0].at_least", "lowest answer")
    assert reported(problems, file, "wellbeing.risk_rules[1].item", "'w2'")
    assert reported(problems, file, "tendencies[0].dimension", "'distance'")


def test_model_problems_are_all_reported_together(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    document = minimal_definition
    document["estimated_minutes"] = "1"
    document["scales"]["agree"]["labels"]["en"] = ["No", "Yes"]
    document["items"][1]["colour"] = "blue"
    document["dimensions"][0]["bands"]["moderate_from"] = 3.0  # above elevated_from (2.5)
    document["wellbeing"]["risk_rules"][0]["level"] = "severe"
    file = write(tmp_path / "model.json", document)

    problems = problems_of(load_definition, file)

    assert reported(problems, file, "estimated_minutes", "integer")
    assert reported(problems, file, "scales.agree", "has 2 labels; the scale has 3 points")
    assert reported(problems, file, "items[1].colour", "Extra inputs")
    assert reported(problems, file, "dimensions[0].bands", "elevated_from")
    assert reported(problems, file, "wellbeing.risk_rules[0].level", "")


def test_quoted_numbers_are_not_numbers(tmp_path: Path, minimal_definition: dict[str, Any]) -> None:
    document = minimal_definition
    document["scales"]["agree"]["max"] = "3"
    document["wellbeing"]["risk_rules"][0]["at_least"] = "1"
    file = write(tmp_path / "quoted.yaml", document)

    problems = problems_of(load_definition, file)

    assert reported(problems, file, "scales.agree.max", "integer")
    assert reported(problems, file, "wellbeing.risk_rules[0].at_least", "integer")


def test_duplicate_wellbeing_item_points_at_the_wellbeing_item(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    document = minimal_definition
    document["wellbeing"]["items"].append({"id": "w1", "scale": "freq", "text": {"en": "Again"}})
    file = write(tmp_path / "dup.yaml", document)

    problems = problems_of(load_definition, file)

    # The second wellbeing item is the duplicate; there is no items[3] in this file.
    assert [(p.path, p.message) for p in problems] == [
        ("wellbeing.items[1].id", "duplicate id 'w1'")
    ]


def test_demographic_item_problems_are_all_reported_together(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    minimal_definition["demographics"] = [
        {
            "id": "c1",  # already an item's id: answers share one namespace
            "text": {"fr": "Âge"},
            "options": [
                {"id": "young", "label": {"en": "Under 40"}},
                {"id": "young", "label": {"fr": "40 ou plus"}},
            ],
        },
        {
            "id": "country",  # what research exports already group by
            "text": {"en": "Where do you live?"},
            "options": [{"id": "here", "label": {"en": "Here"}}],
            "weight": 1,
        },
    ]
    file = write(tmp_path / "demographics.yaml", minimal_definition)

    problems = problems_of(load_definition, file)

    assert reported(problems, file, "demographics[0].id", "duplicate id 'c1'")
    assert reported(problems, file, "demographics[0].text", "en")
    assert reported(problems, file, "demographics[0].options[1].id", "duplicate id 'young'")
    assert reported(problems, file, "demographics[0].options[1].label", "en")
    assert reported(problems, file, "demographics[1].id", "'country' is reserved")
    assert reported(problems, file, "demographics[1].options", "at least 2")
    assert reported(problems, file, "demographics[1].weight", "Extra inputs")


def test_problem_text_names_file_and_path(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    minimal_definition["items"][1]["dimension"] = "distance"
    file = write(tmp_path / "one.yaml", minimal_definition)

    with pytest.raises(DefinitionError) as caught:
        load_definition(file)

    assert str(caught.value) == f"{file}: items[1].dimension: unknown dimension 'distance'"


# --- several files ------------------------------------------------------------------------------


def test_load_definitions_reports_every_file(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    cross = dict(minimal_definition, id="cross")
    cross["items"] = [dict(minimal_definition["items"][0], dimension="distance")]
    bad_cross = write(tmp_path / "a-cross.yaml", cross)
    bad_type = write(tmp_path / "b-type.json", dict(minimal_definition, id="typed", version=1))
    bad_yaml = tmp_path / "c-syntax.yaml"
    bad_yaml.write_text("id: mini\ntitle: {en: 'unclosed\n", encoding="utf-8")
    bad_json = tmp_path / "d-syntax.json"
    bad_json.write_text('{"id": "mini",}', encoding="utf-8")
    good = write(tmp_path / "e-good.yaml", minimal_definition)
    same_id = write(tmp_path / "f-same-id.json", minimal_definition)

    problems = problems_of(
        load_definitions, [bad_cross, bad_type, bad_yaml, bad_json, good, same_id]
    )

    assert reported(problems, bad_cross, "items[0].dimension", "'distance'")
    assert reported(problems, bad_type, "version", "string")
    assert reported(problems, bad_yaml, "", "not valid syntax")
    assert reported(problems, bad_json, "", "not valid syntax")
    assert reported(problems, same_id, "id", f"'mini' also defined in {good}")
    assert {p.file for p in problems} == {
        str(bad_cross),
        str(bad_type),
        str(bad_yaml),
        str(bad_json),
        str(same_id),
    }


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nitems: [\n", encoding="utf-8")

    with pytest.raises(DefinitionError) as caught:
        load_definition(broken)

    assert [p.file for p in caught.value.problems] == [str(broken)]
    assert str(caught.value).startswith(f"{broken}: not valid syntax")


# --- the catalog ---------------------------------------------------------------------------------


def test_catalog_reports_a_content_section_that_does_not_exist(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    minimal_definition["content"] = {
        "general": ["seeking-support", "no-such-section"],
        "tendencies": {"anxious": ["anxious-pattern"]},
    }
    file = write(extra / "mini.yaml", minimal_definition)

    problems = problems_of(Catalog.load, [extra])

    # Only the extra file is wrong; the bundled data and the existing sections are fine.
    assert [(p.file, p.path) for p in problems] == [(str(file), "content")]
    assert "'no-such-section'" in problems[0].message


def test_catalog_loads_a_valid_extra_definition(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    write(extra / "mini.json", minimal_definition)

    catalog = Catalog.load([extra])

    assert set(catalog.definitions) == {"attachment-self-reflection", "mini"}


def test_catalog_reports_a_missing_extra_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    problems = problems_of(Catalog.load, [missing])

    assert [(p.file, p.message) for p in problems] == [(str(missing), "not a folder")]


def test_catalog_reports_an_id_clash_with_the_bundled_questionnaire(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    file = write(extra / "clash.yaml", dict(minimal_definition, id="attachment-self-reflection"))

    problems = problems_of(Catalog.load, [extra])

    assert reported(problems, file, "id", "'attachment-self-reflection' also defined in")


def test_a_scale_with_more_points_than_anyone_can_tell_apart_is_refused(
    tmp_path: Path, minimal_definition: dict[str, Any]
) -> None:
    minimal_definition["scales"]["agree"] = {
        "min": 0,
        "max": 255,
        "labels": {"en": [f"point {n}" for n in range(256)]},
    }
    file = write(tmp_path / "wide.yaml", minimal_definition)

    problems = problems_of(load_definition, file)

    assert reported(problems, file, "scales.agree", "256 points; at most 255")
