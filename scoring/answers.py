"""Checking a set of answers against a definition.

Answers arrive as JSON: ``{"anx01": 5, "wb_now": 0, ...}``. An answer is valid only when
its item exists and its value is an integer on the item's scale; the answer to a demographic
item is the chosen option's position counted from 1. JSON booleans, floats (even
``5.0``), strings (even ``"5"``) and ``null`` are refused rather than coerced: a value the
respondent did not clearly give must never be scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scoring.definition import Definition


@dataclass(frozen=True, slots=True)
class AnswerProblem:
    """What is wrong with one answer (or with the set, for a dimension)."""

    item: str
    message: str


def is_answer_value(value: object) -> bool:
    """A JSON integer: ``bool`` is a subclass of ``int`` in Python and must not pass."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_answers(
    definition: Definition, raw: Mapping[str, object]
) -> tuple[dict[str, int], list[AnswerProblem]]:
    """Split raw answers into the valid ones and a problem for every invalid one."""
    valid: dict[str, int] = {}
    problems: list[AnswerProblem] = []
    for item_id, value in raw.items():
        accepted = _accepted(definition, item_id)
        if accepted is None:
            problems.append(AnswerProblem(item_id, f"unknown item {item_id!r} in {definition.id}"))
            continue
        low, high, off = accepted
        if not is_answer_value(value):
            problems.append(
                AnswerProblem(
                    item_id, f"must be a whole number from {low} to {high}, not {_json_type(value)}"
                )
            )
        else:
            assert isinstance(value, int)
            if not low <= value <= high:
                problems.append(AnswerProblem(item_id, f"{value} is {off} ({low} to {high})"))
            else:
                valid[item_id] = value
    return valid, problems


def _accepted(definition: Definition, item_id: str) -> tuple[int, int, str] | None:
    """The lowest and highest answer an item takes and what a value outside them is."""
    scale = definition.scale_of(item_id)
    if scale is not None:
        return scale.min, scale.max, "off the scale"
    demographic = definition.demographic(item_id)
    if demographic is not None:
        return 1, len(demographic.options), f"not one of the {len(demographic.options)} options"
    return None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
