"""The rule for submitting (scoring.submitting): a relationship left out stops nothing, one
answered in part stops on its short dimensions, one must be answered in full; without
relationships every dimension needs enough answers, exactly as the engine counts them."""

from __future__ import annotations

import random

import pytest

from scoring.catalog import BUNDLED_DIR, Catalog
from scoring.engine import score_dimensions, sufficient
from scoring.loading import load_definition
from scoring.submitting import shortfall, submittable

ECR_RS = load_definition(BUNDLED_DIR / "library" / "ecr-rs.yaml").definition
ITEMS = [f"rs{n:02d}" for n in range(1, 10)]


def about(target: str, count: int, value: int = 4) -> dict[str, int]:
    """The first ``count`` statements about ``target`` answered with ``value``."""
    return {f"{target}.{i}": value for i in ITEMS[:count]}


@pytest.mark.parametrize(
    ("answers", "stopping", "nothing"),
    [
        pytest.param(about("partner", 9), [], False, id="partner only"),
        pytest.param({**about("friend", 9), **about("father", 9)}, [], False, id="two of four"),
        pytest.param(
            {**about("partner", 9), **about("mother", 3)},
            ["mother.avoidance", "mother.anxiety"],
            False,
            id="mother in part",
        ),
        # Five of six avoidance statements suffice (three quarters); anxiety then has none.
        pytest.param(
            {**about("partner", 9), **about("father", 5)},
            ["father.anxiety"],
            False,
            id="a dimension of a relationship answered",
        ),
        pytest.param(
            about("partner", 4), ["partner.avoidance", "partner.anxiety"], False, id="none full"
        ),
        pytest.param(
            {},
            [
                f"{t}.{d}"
                for t in ("partner", "mother", "father", "friend")
                for d in ("avoidance", "anxiety")
            ],
            True,
            id="nothing",
        ),
    ],
)
def test_relationships_left_out_stop_nothing_and_those_answered_in_part_do(
    answers: dict[str, int], stopping: list[str], nothing: bool
) -> None:
    short = shortfall(ECR_RS, score_dimensions(ECR_RS, answers))

    assert [d.dimension for d in short.dimensions] == stopping
    assert short.nothing_answered is nothing
    assert submittable(ECR_RS, answers) is (not stopping)


def test_without_relationships_every_dimension_is_needed_as_before() -> None:
    definition = Catalog.load().definitions["attachment-self-reflection"].definition
    ids = [item.id for item in definition.items]
    rng = random.Random(5)
    seen = set()
    for _ in range(300):
        share = rng.uniform(0.4, 1.0)
        answers = {i: 3 for i in ids if rng.random() < share}
        scores = score_dimensions(definition, answers)
        short = shortfall(definition, scores)
        expected = [d for d, s in scores.items() if not s.sufficient]
        assert [d.dimension for d in short.dimensions] == expected
        assert submittable(definition, answers) is (not expected)
        assert sufficient(definition, answers) is (not expected)
        assert short.nothing_answered is False
        seen.add(bool(expected))
    assert seen == {True, False}
