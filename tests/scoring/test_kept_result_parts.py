"""What a result is made of is made once and kept, and what is kept is what would be made.

Composing a result keeps the words of a definition in one language, its psychoeducation
sections and the crisis notices and footers of each country; storing it keeps each piece of
its text, slotted, by what decides that text. Each is checked here against making it afresh:
on random definitions and answers, on the bundled questionnaire and on the library's
instrument answered per relationship; and an object copied with other words (a definition,
a crisis directory, a content library) must never show what was kept for another.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_vectorized import answer_sets, definitions

from app.services import stored_results
from scoring import result as result_module
from scoring.catalog import BUNDLED_DIR, Catalog
from scoring.content import ContentLibrary
from scoring.definition import Definition
from scoring.engine import DimensionScore, score
from scoring.loading import load_definition
from scoring.result import DimensionResult, ScoreResult, compose_result
from scoring.risk import RiskAssessment, assess_risk

LEVELS = (None, "support", "urgent", "acute")
COUNTRIES = (None, "US", "GB", "DE", "NZ", "ZZ")


def _compose(
    catalog: Catalog,
    definition: Definition,
    answers: dict[str, int],
    *,
    risk: RiskAssessment | None = None,
    country: str | None = None,
    content: ContentLibrary | None = None,
) -> ScoreResult:
    return compose_result(
        definition=definition,
        definition_hash="sha256:" + "0" * 64,
        scoring=score(definition, answers),
        risk=risk if risk is not None else assess_risk(definition, answers),
        language="en",
        country=country,
        content=content or catalog.content,
        crisis=catalog.crisis,
    )


def _cut_afresh(result: ScoreResult) -> stored_results.CompactResult:
    """The result cut as one JSON document, with nothing kept from an earlier cut."""
    document = result.model_dump(
        mode="json", exclude={*stored_results.DYNAMIC_FIELDS, *stored_results.WHOLE_FIELDS}
    )
    pieces: list[stored_results.Content] = []
    values: list[str] = []
    for piece in stored_results._pieces(document, last=False):
        slotted, numbers = stored_results._slotted.__wrapped__(piece)
        pieces.append(slotted)
        values += numbers
    pieces += stored_results._sections_cut.__wrapped__(result.psychoeducation)
    return stored_results.CompactResult(tuple(pieces), stored_results._packed(values))


def _assert_cut_as_afresh(result: ScoreResult) -> None:
    expected = _cut_afresh(result)
    assert stored_results.split(result) == expected
    assert stored_results.split(result) == expected  # the second time, from what was kept


@st.composite
def scored_cases(draw: st.DrawFn) -> tuple[Definition, list[dict[str, Any]], list[Any]]:
    definition = draw(definitions())
    rows = draw(st.lists(answer_sets(definition, invalid=False), min_size=1, max_size=8))
    where = [(draw(st.sampled_from(LEVELS)), draw(st.sampled_from(COUNTRIES))) for _ in rows]
    return definition, rows, where


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scored_cases())
def test_random_results_are_cut_as_when_cut_afresh(
    catalog: Catalog, case: tuple[Definition, list[dict[str, Any]], list[Any]]
) -> None:
    definition, rows, where = case
    for answers, (level, country) in zip(rows, where, strict=True):
        risk = RiskAssessment(level, ("wb0",) if level else ())
        result = _compose(catalog, definition, answers, risk=risk, country=country)
        _assert_cut_as_afresh(result)
        result_module._kept_parts.clear()
        afresh = _compose(catalog, definition.model_copy(), answers, risk=risk, country=country)
        assert afresh.model_dump_json() == result.model_dump_json()


def test_a_scored_negative_zero_is_shown_as_scored(catalog: Catalog) -> None:
    shown = []
    for zero in (0.0, -0.0, 0.0):
        scored = DimensionScore("anxiety", zero, "low", 3, 3, 2, False)
        part = result_module._scored_part(DimensionResult, scored, zero, label="A", target=None)
        shown.append(part.model_dump_json())
    assert shown[0] == shown[2] != shown[1]
    assert '"mean":-0.0' in shown[1]


def test_bundled_and_per_relationship_results_are_cut_as_when_cut_afresh(
    catalog: Catalog,
) -> None:
    chooser = random.Random(7)
    library = load_definition(BUNDLED_DIR / "library" / "ecr-rs.yaml").definition
    bundled = catalog.definitions["attachment-self-reflection"].definition
    for definition in (bundled, library):
        for _ in range(40):
            answers = {
                item.id: chooser.randint(scale.min, scale.max)
                for item in definition.items
                if chooser.random() < 0.9 and (scale := definition.scales[item.scale])
            }
            if score(definition, answers).complete:
                _assert_cut_as_afresh(_compose(catalog, definition, answers))


def test_a_negative_zero_is_never_taken_for_a_zero(catalog: Catalog) -> None:
    definition = catalog.definitions["attachment-self-reflection"].definition
    result = _compose(catalog, definition, {item.id: 4 for item in definition.items})
    cuts = []
    for zero in (0.0, -0.0, 0.0):
        scores = {
            d_id: DimensionResult.model_validate({**s.model_dump(), "mean": zero})
            for d_id, s in result.scores.items()
        }
        zeroed = result.model_copy(update={"scores": scores})
        _assert_cut_as_afresh(zeroed)
        cuts.append(stored_results.split(zeroed).values)
    assert cuts[0] == cuts[2] != cuts[1]
    assert "-0.0" in cuts[1]


def test_what_is_kept_of_cut_pieces_stays_bounded(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_results, "_KEPT_ENTRIES", 5)
    # Start empty: entries kept by earlier requests in this process would be found again
    # rather than added, and the bound is only checked when something is added.
    monkeypatch.setattr(stored_results, "_entry_pieces", {})
    monkeypatch.setattr(stored_results, "_entries_by_part", {})
    definition = catalog.definitions["attachment-self-reflection"].definition
    for value in range(1, 8):
        for other in range(1, 8):
            answers = {item.id: value for item in definition.items} | {"anx01": other}
            _assert_cut_as_afresh(_compose(catalog, definition, answers))
            assert len(stored_results._entry_pieces) <= 5
            assert len(stored_results._entries_by_part) <= 5


def test_a_definition_copied_with_other_words_says_its_own(catalog: Catalog) -> None:
    original = catalog.definitions["attachment-self-reflection"].definition
    answers = {item.id: 6 for item in original.items}
    before = _compose(catalog, original, answers)
    dimensions = tuple(
        d.model_copy(update={"label": {"en": f"Renamed {d.id}"}}) for d in original.dimensions
    )
    copied = original.model_copy(
        update={"title": {"en": "Another title"}, "dimensions": dimensions}
    )

    after = _compose(catalog, copied, answers)

    assert "Another title" in after.how_scored
    assert [s.label for s in after.scores.values()] == [f"Renamed {d.id}" for d in dimensions]
    assert _compose(catalog, original, answers) == before
    assert "Another title" not in before.how_scored


def test_other_content_shows_its_own_sections(catalog: Catalog) -> None:
    definition = catalog.definitions["attachment-self-reflection"].definition
    answers = {item.id: 6 for item in definition.items}
    before = _compose(catalog, definition, answers)
    sections = {
        language: {
            section_id: catalog.content.section(language, section_id).model_copy(  # type: ignore[union-attr]
                update={"body": f"Rewritten {section_id}."}
            )
            for section_id in catalog.content.section_ids(language)
        }
        for language in catalog.content.languages
    }
    wording = {
        language: catalog.content.wording(language) for language in catalog.content.languages
    }
    rewritten = ContentLibrary(sections, {k: v for k, v in wording.items() if v is not None})

    after = _compose(catalog, definition, answers, content=rewritten)

    assert [s.body for s in after.psychoeducation] == [
        f"Rewritten {s.id}." for s in before.psychoeducation
    ]
    assert _compose(catalog, definition, answers) == before


def test_a_crisis_directory_with_other_words_gives_its_own_notice(catalog: Catalog) -> None:
    crisis = catalog.crisis
    kept = crisis.notice("acute", ("wb_now",), "GB", "en")
    footer = crisis.help("GB", "en")
    messages = {level: {"en": f"Changed {level} message."} for level in crisis.messages}
    changed = crisis.model_copy(
        update={"messages": messages, "help_footer": {"en": "Changed footer."}}
    )

    assert changed.notice("acute", ("wb_now",), "GB", "en").message == "Changed acute message."
    assert changed.help("GB", "en").message == "Changed footer."
    assert crisis.notice("acute", ("wb_now",), "GB", "en") == kept
    assert crisis.help("GB", "en") == footer
    assert kept.triggered_by == ("wb_now",)


def _packed_by_the_rule(values: list[str]) -> str:
    """Each value, or ``^`` and the position of its latest occurrence written out in full,
    whichever is shorter."""
    latest: dict[str, int] = {}
    out = []
    for index, value in enumerate(values):
        reference = f"^{latest[value]}" if value in latest else value
        if len(reference) < len(value):
            out.append(reference)
        else:
            latest[value] = index
            out.append(value)
    return ",".join(out)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["1", "7", "12", "4.5", "4.50", "-3", "0.0", "100", "4.111111111111111"]),
        max_size=150,
    )
)
def test_values_are_packed_by_the_rule_and_come_back(values: list[str]) -> None:
    packed = stored_results._packed(values)
    assert packed == _packed_by_the_rule(values)
    assert stored_results._unpacked(packed) == values


def test_a_negative_zero_score_is_said_as_scored(catalog: Catalog) -> None:
    definition = catalog.definitions["attachment-self-reflection"].definition
    words = result_module._words(definition, "sha256:" + "0" * 64, "en", catalog.content)
    said = []
    for zero in (0.0, -0.0, 0.0):
        scored = DimensionScore("anxiety", zero, "low", 3, 3, 2, False)
        said.append(result_module._dimension_line(words, "anxiety", zero, scored))
    assert said[0] == said[2] != said[1]
    assert "-0.00" in said[1]


def test_a_kept_line_says_what_a_new_one_would(catalog: Catalog) -> None:
    definition = catalog.definitions["attachment-self-reflection"].definition
    for value in (2, 5, 2):
        answers = {item.id: value for item in definition.items}
        kept = _compose(catalog, definition, answers)
        afresh = _compose(catalog, definition.model_copy(), answers)
        assert kept.how_scored == afresh.how_scored
        mean = kept.scores["anxiety"].mean
        assert mean is not None
        assert f"{mean:.2f} (mean of" in kept.how_scored
