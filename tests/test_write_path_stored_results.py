"""Splitting a result into shared pieces and numbers, and putting it back, loses nothing.

Whatever a content file may say (braces, format fields, numbers glued to words or
punctuation, exponents, negative numbers, non-Latin text), the result composed from its
stored form is the result that was stored, down to the last digit of every float.
"""

from __future__ import annotations

import json

import pytest

from app.services import stored_results
from scoring.catalog import Catalog
from scoring.engine import score
from scoring.result import ScoreResult, compose_result
from scoring.risk import assess_risk

AWKWARD_TEXTS = [
    "Braces {like} {{these}} and {0} or {} and {name!r:>10}.",
    "Numbers: 3.21. Then 1e-05, -4.5, 07, 1.2.3, v2, x86_64 and 10%.",
    "Ünïcode — “quotes”, tabs\tand a\nnew line. End. ",
    "",
    ". . Sentences. . ",
]


def _result(catalog: Catalog, value: int) -> ScoreResult:
    loaded = catalog.definitions["attachment-self-reflection"]
    answers = {item.id: value for item in loaded.definition.items}
    return compose_result(
        definition=loaded.definition,
        definition_hash=loaded.content_hash,
        scoring=score(loaded.definition, answers),
        risk=assess_risk(loaded.definition, answers),
        language="en",
        country=None,
        content=catalog.content,
        crisis=catalog.crisis,
    )


def _round_trip(result: ScoreResult) -> dict[str, object]:
    compact = stored_results.split(result)
    return stored_results.stored_document([p.body for p in compact.pieces], compact.values)


def _stored(result: ScoreResult) -> dict[str, object]:
    return result.model_dump(mode="json", exclude={"crisis", "help"})


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_awkward_words_come_back_exactly(text: str) -> None:
    result = _result(Catalog.load(), 5)
    sections = [
        section.model_copy(update={"body": text, "title": text})
        for section in result.psychoeducation
    ]
    edited = result.model_copy(
        update={"summary": text, "how_scored": text + " 4.333", "psychoeducation": tuple(sections)}
    )
    # Re-validated, as a result is when it is composed.
    edited = ScoreResult.model_validate(edited.model_dump())
    back = _round_trip(edited)
    assert json.dumps(back) == json.dumps(
        {k: v for k, v in _stored(edited).items() if k != "psychoeducation"}
        | {"psychoeducation": _stored(edited)["psychoeducation"]}
    )


@pytest.mark.parametrize("value", range(1, 8))
def test_every_float_comes_back_to_the_last_digit(value: int) -> None:
    result = _result(Catalog.load(), value)
    back = _round_trip(result)
    original = _stored(result)
    assert back == original
    means = [s["mean"] for s in back["scores"].values()]  # type: ignore[attr-defined]
    assert means == [s["mean"] for s in original["scores"].values()]  # type: ignore[attr-defined]
    assert (
        ScoreResult.model_validate({**back, "crisis": result.crisis, "help": result.help}) == result
    )


def test_results_that_read_alike_share_their_pieces_and_differ_only_in_numbers() -> None:
    catalog = Catalog.load()
    loaded = catalog.definitions["attachment-self-reflection"]
    answers = {item.id: 4 for item in loaded.definition.items}
    other = {**answers, "anx01": 5}
    first, second = (
        compose_result(
            definition=loaded.definition,
            definition_hash=loaded.content_hash,
            scoring=score(loaded.definition, a),
            risk=assess_risk(loaded.definition, a),
            language="en",
            country=None,
            content=catalog.content,
            crisis=catalog.crisis,
        )
        for a in (answers, other)
    )
    one, two = stored_results.split(first), stored_results.split(second)
    assert first.scores["anxiety"].mean != second.scores["anxiety"].mean
    assert [p.hash for p in one.pieces] == [p.hash for p in two.pieces]
    assert one.values != two.values
