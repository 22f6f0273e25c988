"""Golden tests for the bundled questionnaire, scored and composed through the Catalog.

Hand-computed answer sets live in ``bundled_golden.yaml``. Other tests build answer sets from
"keyed" targets: every item of a dimension answered so that its keyed value is the target,
which makes the expected mean the target itself.
"""

from __future__ import annotations

import functools
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.catalog import Catalog
from scoring.loading import LoadedDefinition, load_definition
from scoring.result import ScoreResult

HERE = Path(__file__).resolve().parent
BUNDLED_FILE = HERE.parent.parent / "questionnaires" / "attachment-self-reflection.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (HERE / "bundled_golden.yaml").read_text(encoding="utf-8")
)["cases"]

# Written out from product.md / the definition's comment, not read from the definition.
REVERSED = {"anx03", "anx07", "avo02", "avo05", "avo08", "dis04", "dis08"}
PREFIX = {"anxiety": "anx", "avoidance": "avo", "disorganization": "dis"}
GENERAL = [
    "attachment-and-mental-health",
    "emotional-dysregulation",
    "seeking-support",
    "clinical-takeaway",
]


def keyed(
    anxiety: int | None = 2,
    avoidance: int | None = 2,
    disorganization: int | None = 2,
    *,
    skip: tuple[str, ...] = (),
) -> dict[str, object]:
    """Raw answers whose keyed value is the given target on every item of each dimension."""
    targets = {"anxiety": anxiety, "avoidance": avoidance, "disorganization": disorganization}
    answers: dict[str, object] = {}
    for dimension, target in targets.items():
        if target is None:
            continue
        for n in range(1, 10):
            item = f"{PREFIX[dimension]}{n:02d}"
            if item not in skip:
                answers[item] = 8 - target if item in REVERSED else target
    return answers


def evaluate(
    catalog: Catalog,
    bundled: LoadedDefinition,
    answers: dict[str, object],
    country: str | None = "US",
) -> ScoreResult:
    result, _risk, problems = catalog.evaluate(bundled, answers, language="en", country=country)
    assert problems == []
    assert result is not None
    return result


# --- golden answer sets ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_golden(catalog: Catalog, bundled: LoadedDefinition, case: dict[str, Any]) -> None:
    result = evaluate(catalog, bundled, case["answers"], case["country"])

    expected = case["expected"]
    assert set(result.scores) == {"anxiety", "avoidance", "disorganization"}
    for dimension_id, want in expected["scores"].items():
        got = result.scores[dimension_id]
        assert got.mean == pytest.approx(float(Fraction(want["mean"])), abs=1e-12)
        assert got.band == want["band"]
        assert (got.answered, got.of) == (want["answered"], 9)
        assert got.borderline is want["borderline"]
        assert f"{got.label}: {want['shown']} (mean of {want['answered']} of 9" in result.how_scored
    assert {t.id: t.elevated for t in result.tendencies} == expected["elevated"]
    assert result.primary_tendency == expected["primary_tendency"]
    assert [s.id for s in result.psychoeducation] == expected["psychoeducation"]
    assert result.crisis is None
    assert result.questionnaire.id == "attachment-self-reflection"
    assert result.questionnaire.version == "1.0.1"
    assert result.questionnaire.hash == bundled.content_hash


def test_keyed_helper_matches_the_golden_reverse_key(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    # All-6 keyed answers: reversed items are answered 8 - 6 = 2. If the definition reversed
    # a different set of items, the means would no longer be exactly 6.0.
    result = evaluate(catalog, bundled, keyed(6, 6, 6))

    assert [result.scores[d].mean for d in PREFIX] == [6.0, 6.0, 6.0]


# --- every tendency is reachable --------------------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "primary", "sections"),
    [
        # Every mean 2.0: all low, all scored -> secure.
        ((2, 2, 2), "secure", ["secure-pattern"]),
        # Only anxiety at 6.0 (>= 4.5).
        ((6, 2, 2), "anxious", ["anxious-pattern"]),
        ((2, 6, 2), "avoidant", ["avoidant-pattern"]),
        ((2, 2, 6), "disorganized", ["disorganized-pattern"]),
    ],
)
def test_each_primary_tendency_is_reachable(
    catalog: Catalog,
    bundled: LoadedDefinition,
    targets: tuple[int, int, int],
    primary: str,
    sections: list[str],
) -> None:
    result = evaluate(catalog, bundled, keyed(*targets))

    assert result.primary_tendency == primary
    assert [s.id for s in result.psychoeducation] == sections + GENERAL


def test_primary_is_the_tendency_furthest_above_its_threshold(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    # anxiety 5.0 (0.5 above 4.5), avoidance 7.0 (2.5 above), disorganization 6.0 (1.5 above).
    result = evaluate(catalog, bundled, keyed(5, 7, 6))

    assert result.primary_tendency == "avoidant"
    assert [s.id for s in result.psychoeducation][:3] == [
        "avoidant-pattern",
        "disorganized-pattern",
        "anxious-pattern",
    ]


def test_tie_goes_to_the_definition_order(catalog: Catalog, bundled: LoadedDefinition) -> None:
    # avoidance and disorganization both 6.0; avoidance comes first in the definition.
    result = evaluate(catalog, bundled, keyed(2, 6, 6))

    assert result.primary_tendency == "avoidant"


def test_summary_names_the_primary_tendency(catalog: Catalog, bundled: LoadedDefinition) -> None:
    result = evaluate(catalog, bundled, keyed(2, 2, 6))

    assert "disorganized tendency" in result.summary
    assert "anxious tendency" not in result.summary


# --- borderline and insufficient ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "mean", "band", "borderline"),
    [
        # 8 answered (anx09 left out): six 4s + two 5s = 34; 34/8 = 4.25 = 4.5 - 0.25.
        ((4, 4, 4, 4, 4, 4, 5, 5), 4.25, "moderate", True),
        # two 4s + six 5s = 38; 38/8 = 4.75 = 4.5 + 0.25.
        ((4, 4, 5, 5, 5, 5, 5, 5), 4.75, "elevated", True),
        # six 3s + two 4s = 26; 26/8 = 3.25 = 3.5 - 0.25.
        ((3, 3, 3, 3, 3, 3, 4, 4), 3.25, "low", True),
        # 9 answered: two 4s + seven 5s = 43; 43/9 = 4.78, 0.28 above 4.5: not borderline.
        ((4, 4, 5, 5, 5, 5, 5, 5, 5), 43 / 9, "elevated", False),
        # nine 4s = 36; 36/9 = 4.0, 0.5 from both thresholds.
        ((4, 4, 4, 4, 4, 4, 4, 4, 4), 4.0, "moderate", False),
    ],
)
def test_borderline_scores_are_flagged_and_explained(
    catalog: Catalog,
    bundled: LoadedDefinition,
    values: tuple[int, ...],
    mean: float,
    band: str,
    borderline: bool,
) -> None:
    # Keyed values for anx01..; the reversed anx03/anx07 are answered 8 - value.
    answers = keyed(None, 2, 2)
    for n, value in enumerate(values, start=1):
        item = f"anx{n:02d}"
        answers[item] = 8 - value if item in REVERSED else value

    result = evaluate(catalog, bundled, answers)

    anxiety = result.scores["anxiety"]
    assert anxiety.mean == pytest.approx(mean, abs=1e-12)
    assert anxiety.band == band
    assert anxiety.borderline is borderline
    anxious = next(t for t in result.tendencies if t.id == "anxious")
    assert anxious.borderline is borderline
    assert anxious.elevated is (band == "elevated")
    wording = catalog.content.wording("en")
    assert wording is not None
    note = wording.borderline_note.format(dimension="Attachment anxiety")
    assert (note in result.summary) is borderline


def test_insufficient_dimension_gets_no_score_and_no_secure_guess(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    # Anxiety: 6 of 9 answered (anx07..anx09 left out), fewer than ceil(0.75 * 9) = 7.
    # The 6 given answers are all keyed 7: scored anyway, anxiety would be elevated.
    answers = keyed(7, 2, 2, skip=("anx07", "anx08", "anx09"))

    result = evaluate(catalog, bundled, answers)

    anxiety = result.scores["anxiety"]
    assert anxiety.mean is None
    assert anxiety.band is None
    assert (anxiety.answered, anxiety.of, anxiety.needed) == (6, 9, 7)
    assert anxiety.sufficient is False
    anxious = next(t for t in result.tendencies if t.id == "anxious")
    assert anxious.elevated is False
    # Nothing elevated among the scored dimensions, yet not "secure": anxiety is unknown.
    assert result.primary_tendency is None
    assert "secure-pattern" not in [s.id for s in result.psychoeducation]
    assert "6 of 9 statements were answered, and at least 7 are needed" in result.summary


def test_insufficient_dimension_does_not_hide_an_elevated_one(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    answers = keyed(2, 6, 2, skip=("anx01", "anx02", "anx03", "anx04"))

    result = evaluate(catalog, bundled, answers)

    assert result.scores["anxiety"].mean is None
    assert result.primary_tendency == "avoidant"


# --- wellbeing never feeds the scores ---------------------------------------------------------


@functools.cache
def bundled_catalog() -> tuple[Catalog, LoadedDefinition]:
    """Not a fixture on purpose: Hypothesis prints a failing test's arguments, and a 30 kB
    catalog repr warns (an error under our config), hiding the falsifying example."""
    catalog = Catalog.load()
    bundled = catalog.get("attachment-self-reflection")
    assert bundled is not None
    return catalog, bundled


@settings(max_examples=60, deadline=None, database=None)
@given(
    wellbeing=st.fixed_dictionaries(
        {},
        optional={
            "wb_life": st.integers(0, 3),
            "wb_selfharm": st.integers(0, 3),
            "wb_substance": st.integers(0, 3),
            "wb_overwhelmed": st.integers(0, 3),
            "wb_now": st.integers(0, 1),
        },
    )
)
def test_wellbeing_answers_never_change_attachment_scores(wellbeing: dict[str, int]) -> None:
    catalog, bundled = bundled_catalog()
    attachment = CASES[0]["answers"]
    baseline = evaluate(catalog, bundled, dict(attachment))

    result = evaluate(catalog, bundled, {**attachment, **wellbeing})

    assert result.scores == baseline.scores
    assert result.tendencies == baseline.tendencies
    assert result.primary_tendency == baseline.primary_tendency
    assert result.how_scored == baseline.how_scored


def test_wellbeing_alone_scores_nothing(catalog: Catalog, bundled: LoadedDefinition) -> None:
    answers = {"wb_life": 3, "wb_selfharm": 3, "wb_substance": 3, "wb_overwhelmed": 3}

    result = evaluate(catalog, bundled, answers)

    assert all(s.answered == 0 and s.mean is None for s in result.scores.values())
    assert result.primary_tendency is None


# --- content hash -------------------------------------------------------------------------------


def test_content_hash_ignores_formatting(bundled: LoadedDefinition, tmp_path: Path) -> None:
    data = yaml.safe_load(BUNDLED_FILE.read_text(encoding="utf-8"))
    # Beside the archive its declaration that it measures the same as 1.0.0 is checked against.
    (tmp_path / "archive").symlink_to(BUNDLED_FILE.parent / "archive", target_is_directory=True)
    as_json = tmp_path / "same.json"
    as_json.write_text(json.dumps(data, indent=4, ensure_ascii=True), encoding="utf-8")
    as_flow_yaml = tmp_path / "same.yml"
    # No comments, flow style, keys in a different order.
    as_flow_yaml.write_text(
        yaml.safe_dump(dict(reversed(data.items())), default_flow_style=True, sort_keys=False),
        encoding="utf-8",
    )

    assert bundled.content_hash.startswith("sha256:")
    assert len(bundled.content_hash) == len("sha256:") + 64
    assert load_definition(as_json).content_hash == bundled.content_hash
    assert load_definition(as_flow_yaml).content_hash == bundled.content_hash


def test_content_hash_changes_with_a_threshold(bundled: LoadedDefinition, tmp_path: Path) -> None:
    data = yaml.safe_load(BUNDLED_FILE.read_text(encoding="utf-8"))
    data["dimensions"][0]["bands"]["elevated_from"] = 4.75
    del data["research"]  # a new threshold no longer measures the same as 1.0.0
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data), encoding="utf-8")

    assert load_definition(changed).content_hash != bundled.content_hash


def test_content_hash_changes_with_reverse_keying(
    bundled: LoadedDefinition, tmp_path: Path
) -> None:
    data = yaml.safe_load(BUNDLED_FILE.read_text(encoding="utf-8"))
    first_reversed = next(item for item in data["items"] if item.get("reverse"))
    first_reversed["reverse"] = False
    del data["research"]  # new keying no longer measures the same as 1.0.0
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data), encoding="utf-8")

    assert load_definition(changed).content_hash != bundled.content_hash


# --- what every result carries ------------------------------------------------------------------


@pytest.mark.parametrize("country", ["US", "GB", "BR", None])
@pytest.mark.parametrize("targets", [(2, 2, 2), (6, 2, 2)], ids=["secure", "anxious"])
def test_every_result_has_help_disclaimer_and_how_scored(
    catalog: Catalog,
    bundled: LoadedDefinition,
    country: str | None,
    targets: tuple[int, int, int],
) -> None:
    result = evaluate(catalog, bundled, keyed(*targets), country)

    assert result.help.message
    assert [r.id for r in result.help.resources][-2:] == ["find-a-helpline", "local-emergency"]
    assert "not a diagnosis" in result.disclaimer
    assert "version 1.0.1" in result.how_scored
    assert result.crisis is None


def test_help_footer_lists_the_countrys_crisis_lines_first(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    result = evaluate(catalog, bundled, keyed(), "US")

    assert [r.id for r in result.help.resources] == [
        "us-988-lifeline",
        "us-crisis-text-line",
        "find-a-helpline",
        "local-emergency",
    ]


def test_help_footer_stays_when_a_crisis_notice_is_shown(
    catalog: Catalog, bundled: LoadedDefinition
) -> None:
    result = evaluate(catalog, bundled, {**keyed(), "wb_life": 1}, "US")

    assert result.crisis is not None
    assert result.help.message
    assert result.help.resources[0].id == "us-988-lifeline"
