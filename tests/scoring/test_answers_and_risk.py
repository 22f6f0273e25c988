"""Strict answer checking, generous risk screening, and the order of the crisis notice."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.answers import check_answers
from scoring.catalog import Catalog
from scoring.definition import CRISIS_LEVEL_ORDER, RiskRule
from scoring.loading import LoadedDefinition
from scoring.risk import assess_risk

# Written out from product.md ("Crisis levels"), not read from the definition.
RULES = [
    ("wb_now", 1, "acute"),
    ("wb_life", 1, "urgent"),
    ("wb_selfharm", 1, "urgent"),
    ("wb_substance", 2, "support"),
    ("wb_overwhelmed", 2, "support"),
]


# --- check_answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "value", "fragment"),
    [
        ("anx01", True, "a boolean"),
        ("anx02", False, "a boolean"),
        ("anx03", 5.0, "a decimal number"),
        ("anx04", "5", "a string"),
        ("anx05", None, "null"),
        ("anx06", [5], "a list"),
        ("anx07", {"value": 5}, "an object"),
        ("anx08", 0, "off the scale (1 to 7)"),
        ("anx09", 8, "off the scale (1 to 7)"),
        ("wb_now", 2, "off the scale (0 to 1)"),
        ("wb_life", -1, "off the scale (0 to 3)"),
        ("wb_life", True, "a boolean"),
    ],
)
def test_check_answers_refuses_anything_but_a_whole_number_on_the_scale(
    bundled: LoadedDefinition, item: str, value: object, fragment: str
) -> None:
    valid, problems = check_answers(bundled.definition, {"avo01": 4, item: value})

    assert valid == {"avo01": 4}
    assert [p.item for p in problems] == [item]
    assert fragment in problems[0].message


def test_check_answers_refuses_unknown_items(bundled: LoadedDefinition) -> None:
    valid, problems = check_answers(bundled.definition, {"anx10": 4, "ecr01": 4, "anx01": 4})

    assert valid == {"anx01": 4}
    assert [p.item for p in problems] == ["anx10", "ecr01"]
    assert all("unknown item" in p.message for p in problems)


def test_check_answers_names_every_bad_item_and_keeps_the_good_ones(
    bundled: LoadedDefinition,
) -> None:
    raw: dict[str, object] = {
        "anx01": 1,
        "anx02": 7,
        "avo01": "7",
        "dis01": 7.0,
        "dis02": None,
        "wb_now": 0,
        "wb_life": 3,
        "nope": 1,
    }

    valid, problems = check_answers(bundled.definition, raw)

    assert valid == {"anx01": 1, "anx02": 7, "wb_now": 0, "wb_life": 3}
    assert sorted(p.item for p in problems) == ["avo01", "dis01", "dis02", "nope"]


# --- assess_risk --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "level"),
    [
        ({"wb_now": 1}, "acute"),
        ({"wb_life": 1}, "urgent"),
        ({"wb_life": 3}, "urgent"),
        ({"wb_selfharm": 1}, "urgent"),
        ({"wb_substance": 2}, "support"),
        ({"wb_substance": 3}, "support"),
        ({"wb_overwhelmed": 2}, "support"),
        ({"wb_overwhelmed": 3}, "support"),
        # Below every rule: "several days" of coping with drink or feeling overwhelmed.
        ({"wb_substance": 1}, None),
        ({"wb_overwhelmed": 1}, None),
        ({"wb_now": 0, "wb_life": 0, "wb_selfharm": 0}, None),
        ({}, None),
    ],
)
def test_each_level_from_a_single_answer(
    bundled: LoadedDefinition, answers: dict[str, object], level: str | None
) -> None:
    risk = assess_risk(bundled.definition, answers)

    assert risk.level == level
    assert risk.triggered_by == (tuple(answers) if level else ())


def test_bundled_risk_rules_are_the_documented_ones(bundled: LoadedDefinition) -> None:
    assert [(r.item, r.at_least, r.level) for r in bundled.definition.risk_rules] == RULES


def test_highest_level_wins_and_every_trigger_is_named(bundled: LoadedDefinition) -> None:
    answers = {"wb_overwhelmed": 3, "wb_selfharm": 2, "wb_now": 1, "wb_substance": 1}

    risk = assess_risk(bundled.definition, answers)

    assert risk.level == "acute"
    # In the definition's rule order; wb_substance at 1 does not reach its rule.
    assert risk.triggered_by == ("wb_now", "wb_selfharm", "wb_overwhelmed")


def test_urgent_beats_support(bundled: LoadedDefinition) -> None:
    risk = assess_risk(bundled.definition, {"wb_substance": 3, "wb_life": 1})

    assert risk.level == "urgent"


@pytest.mark.parametrize(
    ("item", "value", "level"),
    [
        ("wb_now", True, "acute"),
        ("wb_now", "Yes", "acute"),
        ("wb_now", " yes ", "acute"),
        ("wb_now", "1", "acute"),
        ("wb_now", 1.0, "acute"),
        ("wb_life", "1", "urgent"),
        ("wb_life", "Several days", "urgent"),
        ("wb_selfharm", 2.0, "urgent"),
        ("wb_substance", 2.0, "support"),
        ("wb_overwhelmed", "more than half the days", "support"),
        ("wb_overwhelmed", "Nearly every day", "support"),
    ],
)
def test_risk_reads_values_generously_that_check_answers_refuses(
    catalog: Catalog, bundled: LoadedDefinition, item: str, value: object, level: str
) -> None:
    result, risk, problems = catalog.evaluate(
        bundled, {"anx01": 4, item: value}, language="en", country="US"
    )

    assert [p.item for p in problems] == [item]  # the answer itself is refused...
    assert result is None
    assert risk.level == level  # ...but the person still sees help
    assert risk.triggered_by == (item,)
    notice = catalog.notice(risk, "US", "en")
    assert notice is not None
    assert notice.level == level


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ("wb_now", False),
        ("wb_now", "No"),
        ("wb_now", "0"),
        ("wb_life", "Not at all"),
        ("wb_substance", "Several days"),
        ("wb_now", None),
        ("wb_now", "maybe"),
        ("wb_now", float("nan")),
    ],
)
def test_generous_reading_does_not_invent_risk(
    bundled: LoadedDefinition, item: str, value: object
) -> None:
    assert assess_risk(bundled.definition, {item: value}).level is None


def test_a_single_risk_answer_in_a_partial_set_shows_the_notice(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    result, risk, problems = catalog.evaluate(
        bundled, {"anx01": 2, "wb_selfharm": 1}, language="en", country="US"
    )

    assert problems == []
    assert result is not None
    assert result.primary_tendency is None  # far too few answers to score anything
    assert result.crisis is not None
    assert result.crisis.level == "urgent"
    assert result.crisis.triggered_by == ("wb_selfharm",)
    assert risk.level == "urgent"


def test_a_huge_number_elsewhere_does_not_stop_the_acute_notice(
    bundled: LoadedDefinition,
) -> None:
    # JSON allows integers of any size; json.loads("1" + "0" * 400) is a Python int.
    answers = {"wb_now": 1, "wb_life": 10**400}

    risk = assess_risk(bundled.definition, answers)

    assert risk.level == "acute"
    assert "wb_now" in risk.triggered_by


# --- property: a risk answer is never lost ------------------------------------------------------

# Values of every JSON type, including integers far beyond the float range.
INVALID_VALUES = st.one_of(
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=12),
    st.lists(st.integers(0, 7), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(0, 7), max_size=2),
)


@st.composite
def answer_sets(
    draw: st.DrawFn, definition_items: list[tuple[str, int, int]], valid_only: bool
) -> dict[str, Any]:
    """A random subset of items with valid values, or (and some unknown items) any values."""
    answers: dict[str, Any] = {}
    for item, low, high in definition_items:
        if draw(st.booleans()):
            valid = st.integers(low, high)
            answers[item] = draw(valid if valid_only else st.one_of(valid, INVALID_VALUES))
    if not valid_only:
        for unknown in draw(st.lists(st.sampled_from(["x1", "anx10", "wb_later"]), max_size=2)):
            answers[unknown] = draw(INVALID_VALUES)
    return answers


@st.composite
def triggering_value(draw: st.DrawFn, rule: RiskRule, high: int, valid_only: bool) -> object:
    """A value meeting ``rule``: a valid answer, or a generous form of one."""
    number = draw(st.integers(rule.at_least, high))
    if valid_only:
        return number
    forms: list[object] = [number, float(number), str(number), f" {number} "]
    if number == 1:
        forms.append(True)
    return draw(st.sampled_from(forms))


@functools.cache
def bundled_catalog() -> tuple[Catalog, LoadedDefinition, list[tuple[str, int, int]]]:
    """The bundled catalog and every item's range. Not a fixture on purpose: Hypothesis prints
    a failing test's arguments, and a 30 kB catalog repr warns (an error under our config),
    which would hide the falsifying example behind a FlakyStrategyDefinition."""
    catalog = Catalog.load()
    bundled = catalog.get("attachment-self-reflection")
    assert bundled is not None
    definition = bundled.definition
    ranges = []
    for item_id in [i.id for i in definition.items] + [w.id for w in definition.wellbeing_items]:
        scale = definition.scale_of(item_id)
        assert scale is not None
        ranges.append((item_id, scale.min, scale.max))
    return catalog, bundled, ranges


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_any_answer_meeting_a_rule_raises_the_level_to_at_least_that_rule(
    data: st.DataObject,
) -> None:
    catalog, bundled, item_ranges = bundled_catalog()
    definition = bundled.definition
    rule = data.draw(st.sampled_from(definition.risk_rules), label="rule")
    scale = definition.scale_of(rule.item)
    assert scale is not None
    # Half the time only valid answers, so that a full result is composed and checked too.
    valid_only = data.draw(st.booleans(), label="valid_only")
    answers = data.draw(answer_sets(item_ranges, valid_only), label="answers")
    answers[rule.item] = data.draw(triggering_value(rule, scale.max, valid_only), label="trigger")
    country = data.draw(st.sampled_from(["US", "GB", "BR", None]), label="country")

    risk = assess_risk(definition, answers)

    assert risk.level is not None
    assert CRISIS_LEVEL_ORDER[risk.level] >= CRISIS_LEVEL_ORDER[rule.level]
    assert rule.item in risk.triggered_by

    result, evaluated_risk, problems = catalog.evaluate(
        bundled, answers, language="en", country=country
    )
    assert evaluated_risk == risk
    if valid_only:
        assert problems == []
    if problems:
        assert result is None
    else:
        assert result is not None
        assert result.crisis is not None
        assert result.crisis.level == risk.level
        assert rule.item in result.crisis.triggered_by
        ids = [r.id for r in result.crisis.resources]
        assert {"find-a-helpline", "local-emergency"} <= set(ids)
        if risk.level == "acute":
            assert result.crisis.resources[0].kind == "emergency"


# --- crisis notice order ------------------------------------------------------------------------


def channels(resource: Any) -> set[str]:
    return {contact.channel for contact in resource.contacts}


@pytest.mark.parametrize(("country", "number"), [("US", "911"), ("GB", "999"), ("AU", "000")])
def test_acute_puts_the_countrys_emergency_number_first(
    catalog: Catalog, bundled: LoadedDefinition, country: str, number: str
) -> None:
    result, _, problems = catalog.evaluate(bundled, {"wb_now": 1}, language="en", country=country)

    assert problems == []
    assert result is not None
    assert result.crisis is not None
    first = result.crisis.resources[0]
    assert first.kind == "emergency"
    assert first.country == country
    assert first.contacts[0].channel == "call"
    assert first.contacts[0].value == number
    # Crisis lines come right after the emergency number.
    assert result.crisis.resources[1].kind == "crisis_line"


def test_urgent_puts_a_crisis_line_with_call_text_and_chat_first(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    result, _, _ = catalog.evaluate(bundled, {"wb_life": 2}, language="en", country="US")

    assert result is not None
    assert result.crisis is not None
    first = result.crisis.resources[0]
    assert first.kind == "crisis_line"
    assert first.country == "US"
    assert {"call", "text", "chat"} <= channels(first)
    assert "988" in [contact.value for contact in first.contacts]
    # The emergency number is still there, after the crisis lines.
    kinds = [r.kind for r in result.crisis.resources if r.country == "US"]
    assert kinds == ["crisis_line", "crisis_line", "emergency"]


def test_support_puts_support_and_crisis_lines_before_emergency(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    risk = assess_risk(bundled.definition, {"wb_substance": 2})

    notice = catalog.notice(risk, "US", "en")

    assert notice is not None
    assert notice.level == "support"
    kinds = [r.kind for r in notice.resources if r.country == "US"]
    assert kinds[-1] == "emergency"
    assert "emergency" not in kinds[:-1]


@pytest.mark.parametrize("level_answers", [{"wb_now": 1}, {"wb_life": 1}, {"wb_substance": 2}])
@pytest.mark.parametrize("country", ["US", "GB", "DE", "BR", "ZZ", None])
def test_every_notice_lists_the_directory_and_local_emergency(
    catalog: Catalog,
    bundled: LoadedDefinition,
    level_answers: dict[str, int],
    country: str | None,
) -> None:
    risk = assess_risk(bundled.definition, level_answers)

    notice = catalog.notice(risk, country, "en")

    assert notice is not None
    assert notice.message
    ids = [r.id for r in notice.resources]
    if notice.level == "acute" and not catalog.crisis.knows(country):
        # Acute leads with the emergency action, even where the country is unknown.
        assert ids == ["local-emergency", "find-a-helpline"]
        return
    assert ids[-2:] == ["find-a-helpline", "local-emergency"]
    assert notice.resources[-2].kind == "directory"
    assert notice.resources[-1].kind == "emergency"


@pytest.mark.parametrize("country", ["BR", None])
def test_unknown_country_still_gets_the_fallbacks(
    catalog: Catalog, bundled: LoadedDefinition, country: str | None
) -> None:
    result, _, _ = catalog.evaluate(bundled, {"wb_now": 1}, language="en", country=country)

    assert result is not None
    assert result.crisis is not None
    assert [r.id for r in result.crisis.resources] == ["local-emergency", "find-a-helpline"]
    assert [r.id for r in result.help.resources] == ["find-a-helpline", "local-emergency"]


def test_no_notice_without_risk(catalog: Catalog, bundled: LoadedDefinition) -> None:
    risk = assess_risk(bundled.definition, {"wb_substance": 1, "wb_overwhelmed": 1})

    assert catalog.notice(risk, "US", "en") is None
