"""Demographic items: answered with an option's position from 1, checked like any answer,
never scored, and absent from the content hash of a definition that declares none."""

from __future__ import annotations

from typing import Any

import pytest

from scoring.answers import check_answers
from scoring.catalog import BUNDLED_DIR
from scoring.engine import score
from scoring.loading import content_hash, load_definition, parse_definition

FIRST_RELEASE = BUNDLED_DIR / "archive" / "attachment-self-reflection-1.0.0.yaml"

AGE_BAND = {
    "id": "age_band",
    "text": {"en": "How old are you?"},
    "options": [
        {"id": "under-40", "label": {"en": "Under 40"}},
        {"id": "40-plus", "label": {"en": "40 or older"}},
        {"id": "unsaid", "label": {"en": "I'd rather not say"}},
    ],
}


@pytest.fixture
def definition_document(minimal_definition: dict[str, Any]) -> dict[str, Any]:
    minimal_definition["demographics"] = [AGE_BAND]
    return minimal_definition


def test_an_option_position_is_a_valid_answer(definition_document: dict[str, Any]) -> None:
    definition = parse_definition(definition_document, "test")

    for place in (1, 2, 3):
        valid, problems = check_answers(definition, {"c1": 2, "age_band": place})
        assert problems == []
        assert valid == {"c1": 2, "age_band": place}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "0 is not one of the 3 options (1 to 3)"),
        (4, "4 is not one of the 3 options (1 to 3)"),
        ("2", "must be a whole number from 1 to 3, not a string"),
        (True, "must be a whole number from 1 to 3, not a boolean"),
        (None, "must be a whole number from 1 to 3, not null"),
    ],
)
def test_anything_else_is_refused_naming_the_item(
    definition_document: dict[str, Any], value: object, message: str
) -> None:
    definition = parse_definition(definition_document, "test")

    valid, problems = check_answers(definition, {"c1": 2, "age_band": value})

    assert valid == {"c1": 2}
    assert [(p.item, p.message) for p in problems] == [("age_band", message)]


def test_a_demographic_answer_is_never_scored(definition_document: dict[str, Any]) -> None:
    definition = parse_definition(definition_document, "test")

    assert score(definition, {"c1": 3, "c2": 1, "age_band": 2}) == score(
        definition, {"c1": 3, "c2": 1}
    )


def test_demographics_are_part_of_the_hash_only_when_declared(
    definition_document: dict[str, Any],
) -> None:
    with_them = parse_definition(definition_document, "test")
    without = parse_definition({**definition_document, "demographics": []}, "test")

    assert content_hash(with_them) != content_hash(without)
    # Stored responses record this hash (the bundled file's first release, kept unchanged in
    # the archive): a format that gained an optional list must not change it for a
    # definition that does not use the list.
    assert load_definition(FIRST_RELEASE).content_hash == (
        "sha256:6eff2fe4a4687f77856bfe4501e55d5182689c2ef9ed10ffe3ae5f7b21144626"
    )
