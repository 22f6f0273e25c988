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

from scoring.definition import Definition, Item, WellbeingItem, per_definition


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
    accepted_answers = _accepted_answers(definition)
    for item_id, value in raw.items():
        accepted = accepted_answers.get(item_id)
        if accepted is None:
            problems.append(AnswerProblem(item_id, f"unknown item {item_id!r} in {definition.id}"))
            continue
        low, high, off = accepted
        if type(value) is int and low <= value <= high:  # the usual answer, checked at once
            valid[item_id] = value
            continue
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


@per_definition
def _accepted_answers(definition: Definition) -> dict[str, tuple[int, int, str]]:
    """For each item that takes an answer: the lowest and highest answer it takes and what a
    value outside them is."""
    accepted: dict[str, tuple[int, int, str]] = {}
    items: tuple[Item | WellbeingItem, ...] = (*definition.items, *definition.wellbeing_items)
    for item in items:
        scale = definition.scales[item.scale]
        accepted.setdefault(item.id, (scale.min, scale.max, "off the scale"))
    for demographic in definition.demographics:
        options = len(demographic.options)
        accepted.setdefault(demographic.id, (1, options, f"not one of the {options} options"))
    return accepted


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
