"""Golden tests: the ECR-R scoring key, expressed as a definition file, scores as published.

The answer sets and their hand-computed expectations live in ``ecr_r_golden.yaml``.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from scoring.answers import check_answers
from scoring.catalog import Catalog
from scoring.engine import score
from scoring.loading import LoadedDefinition, load_definition

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
ECR_R = FIXTURES / "ecr-r.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (HERE / "ecr_r_golden.yaml").read_text(encoding="utf-8")
)["cases"]


def expected_mean(text: str | None) -> float | None:
    return None if text is None else float(Fraction(text))


@pytest.fixture(scope="module")
def ecr() -> LoadedDefinition:
    return load_definition(ECR_R)


def test_fixture_expresses_the_published_key(ecr: LoadedDefinition) -> None:
    definition = ecr.definition
    assert [item.id for item in definition.items] == [f"ecr{n:02d}" for n in range(1, 37)]
    assert [item.id for item in definition.items_of("anxiety")] == [
        f"ecr{n:02d}" for n in range(1, 19)
    ]
    assert [item.id for item in definition.items_of("avoidance")] == [
        f"ecr{n:02d}" for n in range(19, 37)
    ]
    reversed_numbers = [int(item.id[3:]) for item in definition.items if item.reverse]
    assert reversed_numbers == [9, 11, 20, 22, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36]
    # Placeholders only: never the published wording.
    assert all(item.text == {"en": f"ECR-R item {int(item.id[3:])}"} for item in definition.items)
    assert definition.wellbeing is None


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_golden(ecr: LoadedDefinition, case: dict[str, Any]) -> None:
    answers, problems = check_answers(ecr.definition, case["answers"])
    assert problems == []

    result = score(ecr.definition, answers)

    expected = case["expected"]
    for dimension_id, want in expected["scores"].items():
        got = result.dimensions[dimension_id]
        mean = expected_mean(want["mean"])
        if mean is None:
            assert got.mean is None
        else:
            assert got.mean == pytest.approx(mean, abs=1e-12)
        assert got.band == want["band"]
        assert got.answered == want["answered"]
        assert got.of == 18
        assert got.borderline is want["borderline"]
    assert {t.tendency: t.elevated for t in result.tendencies} == expected["elevated"]
    assert result.primary_tendency == expected["primary_tendency"]


def test_insufficient_dimension_says_how_many_answers_it_needed(ecr: LoadedDefinition) -> None:
    case = next(c for c in CASES if c["name"] == "anxiety-insufficient-nothing-elevated")
    answers, _ = check_answers(ecr.definition, case["answers"])

    anxiety = score(ecr.definition, answers).dimensions["anxiety"]

    # 13 of 18 answered; ceil(0.75 * 18) = 14 needed.
    assert (anxiety.answered, anxiety.of, anxiety.needed) == (13, 18, 14)
    assert anxiety.sufficient is False


def test_one_more_answer_makes_the_insufficient_dimension_scored(ecr: LoadedDefinition) -> None:
    case = next(c for c in CASES if c["name"] == "anxiety-insufficient-nothing-elevated")
    raw = {**case["answers"], "ecr14": 7}
    answers, _ = check_answers(ecr.definition, raw)

    result = score(ecr.definition, answers)

    # Items 1-14, all keyed 7 (ecr09 = ecr11 = 1 -> 8 - 1 = 7): 98/14 = 7.0.
    assert result.dimensions["anxiety"].mean == pytest.approx(7.0, abs=1e-12)
    assert result.dimensions["anxiety"].band == "elevated"
    assert result.primary_tendency == "anxious"


def test_catalog_serves_ecr_r_from_an_extra_folder() -> None:
    catalog = Catalog.load(extra_dirs=[FIXTURES])
    loaded = catalog.get("ecr-r")
    assert loaded is not None
    case = next(c for c in CASES if c["name"] == "reverse-keying-decides-avoidance")

    result, risk, problems = catalog.evaluate(loaded, case["answers"], language="en", country="US")

    assert problems == []
    assert risk.level is None
    assert result is not None
    assert result.questionnaire.id == "ecr-r"
    assert result.primary_tendency == "avoidant"
    # Avoidant section first, then the fixture's one general section.
    assert [s.id for s in result.psychoeducation] == [
        "avoidant-pattern",
        "attachment-and-mental-health",
    ]
    assert result.crisis is None
    assert result.help.resources[-1].id == "local-emergency"
