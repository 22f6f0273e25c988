"""The tables a definition keeps for scoring answer the same as reading the definition itself.

Lookups by item id, a dimension's items, what answer each item takes and how far a response
has come are built once per definition (``scoring.definition.per_definition``). Here each is
compared with what a plain walk over the definition's own lists says, on random definitions,
and a definition copied with other items must never read the tables of the one it came from.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_vectorized import answer_sets, definitions

from app.services.progress import progress_of
from scoring.answers import check_answers
from scoring.catalog import Catalog
from scoring.definition import Definition, ResponseScale
from scoring.engine import score_dimensions
from scoring.risk import assess_answer, assess_risk


def _scale_by_walking(definition: Definition, item_id: str) -> ResponseScale | None:
    for item in (*definition.items, *definition.wellbeing_items):
        if item.id == item_id:
            return definition.scales[item.scale]
    return None


def _ids(definition: Definition) -> list[str]:
    return [
        *(item.id for item in definition.items),
        *(item.id for item in definition.wellbeing_items),
        *(item.id for item in definition.demographics),
        "unknown",
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_lookups_say_what_the_definition_lists(definition: Definition) -> None:
    for item_id in _ids(definition):
        assert definition.scale_of(item_id) == _scale_by_walking(definition, item_id)
        demographic = next((d for d in definition.demographics if d.id == item_id), None)
        assert definition.demographic(item_id) == demographic
    for dimension in definition.dimensions:
        walked = tuple(item for item in definition.items if item.dimension == dimension.id)
        assert definition.items_of(dimension.id) == walked
    assert definition.items_of("no such dimension") == ()


@st.composite
def definition_with_answers(draw: st.DrawFn) -> tuple[Definition, list[dict[str, Any]]]:
    definition = draw(definitions())
    return definition, draw(st.lists(answer_sets(definition, invalid=False), max_size=20))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition_with_answers())
def test_progress_counts_what_was_answered_and_says_when_it_can_be_submitted(
    case: tuple[Definition, list[dict[str, Any]]],
) -> None:
    definition, rows = case
    attachment = {item.id for item in definition.items}
    wellbeing = {item.id for item in definition.wellbeing_items}
    for raw in rows:
        answers, problems = check_answers(definition, raw)
        assert problems == []
        progress = progress_of(definition, answers)
        assert progress.answered == sum(1 for item_id in answers if item_id in attachment)
        assert progress.of == len(definition.items)
        assert progress.wellbeing_answered == sum(1 for i in answers if i in wellbeing)
        scores = score_dimensions(definition, answers).values()
        assert progress.ready_to_submit == all(s.mean is not None for s in scores)


def test_a_copy_with_other_items_reads_its_own_items(catalog: Catalog) -> None:
    loaded = catalog.get("attachment-self-reflection")
    assert loaded is not None
    original = loaded.definition
    first = original.items[0]
    original.scale_of(first.id)  # the original's tables are built before it is copied
    copied = original.model_copy(update={"items": original.items[1:]})

    assert copied.scale_of(first.id) is None
    assert copied.items_of(first.dimension) == original.items_of(first.dimension)[1:]
    answers, problems = check_answers(copied, {first.id: 1})
    assert answers == {}
    assert [p.item for p in problems] == [first.id]
    assert original.scale_of(first.id) is not None


def test_copies_compare_by_what_they_say_whatever_each_has_built(catalog: Catalog) -> None:
    loaded = catalog.get("attachment-self-reflection")
    assert loaded is not None
    original = loaded.definition
    original.scale_of("wb_now")
    copies = [
        original.model_copy(),
        original.model_copy(deep=True),
        copy.deepcopy(original),
        pickle.loads(pickle.dumps(original)),  # noqa: S301 (our own object)
    ]
    for copied in copies:
        copied.items_of(original.dimensions[0].id)  # each builds its own tables
        assert copied == original
        assert original == copied
        assert copied.scale_of("wb_now") == original.scale_of("wb_now")
    assert original.model_copy(update={"items": original.items[1:]}) != original


def test_a_pickled_definition_reads_the_same(catalog: Catalog) -> None:
    loaded = catalog.get("attachment-self-reflection")
    assert loaded is not None
    original = loaded.definition
    original.items_of(original.dimensions[0].id)
    restored = pickle.loads(pickle.dumps(original))  # noqa: S301 (our own object)

    assert restored == original
    assert restored.items_of(original.dimensions[0].id) == original.items_of(
        original.dimensions[0].id
    )


RAW_VALUES = st.one_of(
    st.integers(-5, 12),
    st.sampled_from([True, False, 2.0, 0.5, "3", " 1 ", "Yes", "no", None, [1, 4], {"v": 2}]),
    st.sampled_from(["s0 point 1", "s1 point 2", "S0 POINT 3", float("nan"), 2**70, "nan"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(), st.data())
def test_one_raw_answer_is_screened_as_a_mapping_of_it_is(
    definition: Definition, data: st.DataObject
) -> None:
    ids = [*_ids(definition), *(rule.item.upper() for rule in definition.risk_rules)]
    for _ in range(10):
        key = data.draw(st.sampled_from(ids))
        value = data.draw(RAW_VALUES)
        assert assess_answer(definition, key, value) == assess_risk(definition, {key: value})


def test_the_catalog_screens_one_answer_as_a_mapping_of_it(catalog: Catalog) -> None:
    keys = ["wb_now", "WB_LIFE", "wb_selfharm", "anx01", "nope"]
    values: list[object] = [0, 1, 3, "Yes", "nearly every day", [0, 2], None, "2"]
    for questionnaire_id in (None, "attachment-self-reflection", "unknown"):
        for key in keys:
            for value in values:
                assert catalog.screen_answer(key, value, questionnaire_id) == catalog.screen(
                    {key: value}, questionnaire_id
                )
