"""Norms files as data: what validation catches, how a score is placed, and that the stated
margins hold the truth about as often as they say."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from norms_support import QUESTIONNAIRE, write_norms

from app.cli import main
from scoring.catalog import Catalog
from scoring.loading import DefinitionError
from scoring.norms import (
    DimensionNorms,
    NormBin,
    check_norms,
    content_checksum,
    cumulative_shares,
    discrete_laplace_variance,
    dump_norms,
    percentile_of,
)

SAMPLE = {
    "anxiety": [1 + k / 9 for k in range(55)] * 4,
    "avoidance": [4.0] * 100 + [5.0] * 120,
    "disorganization": [2.0] * 220,
}


@pytest.fixture
def norms_path(catalog: Catalog, tmp_path: Path) -> Path:
    return write_norms(tmp_path, catalog.definitions[QUESTIONNAIRE], SAMPLE)


def _reseal(path: Path, change: Any) -> None:
    """Edit a norms file and give it a correct checksum again, so that only the edit is wrong."""
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(content)
    content["checksum"] = content_checksum(json.loads(json.dumps(content, default=str)))
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


def _problems(path: Path, catalog: Catalog) -> list[str]:
    _, problems = check_norms([path], catalog.definitions.values())
    return [str(p) for p in problems]


def test_a_written_file_passes(norms_path: Path, catalog: Catalog) -> None:
    assert _problems(norms_path, catalog) == []


def test_an_edit_by_hand_breaks_the_checksum(norms_path: Path, catalog: Catalog) -> None:
    text = norms_path.read_text(encoding="utf-8").replace("n: 220", "n: 2200")
    norms_path.write_text(text, encoding="utf-8")
    problems = _problems(norms_path, catalog)
    assert len(problems) == 1
    assert "checksum" in problems[0]
    # The catalog refuses to start with it rather than show numbers nobody released.
    with pytest.raises(DefinitionError, match="checksum"):
        Catalog.load([norms_path.parents[2]])


def test_cumulative_shares_must_not_decrease(norms_path: Path, catalog: Catalog) -> None:
    def lower_one(content: dict[str, Any]) -> None:
        content["dimensions"]["anxiety"]["bins"][10]["below"] = 0.01

    _reseal(norms_path, lower_one)
    problems = _problems(norms_path, catalog)
    assert any("cumulative shares decrease" in p for p in problems), problems


def test_the_hash_must_be_a_known_definitions(norms_path: Path, catalog: Catalog) -> None:
    def other_hash(content: dict[str, Any]) -> None:
        content["questionnaire"]["hash"] = "sha256:" + "1" * 64

    _reseal(norms_path, other_hash)
    problems = _problems(norms_path, catalog)
    assert any("questionnaire.hash" in p for p in problems), problems


def test_bins_must_span_the_scale_and_dimensions_match(norms_path: Path, catalog: Catalog) -> None:
    def broken(content: dict[str, Any]) -> None:
        del content["dimensions"]["disorganization"]
        content["dimensions"]["anxiety"]["bins"] = content["dimensions"]["anxiety"]["bins"][:-5]

    _reseal(norms_path, broken)
    problems = _problems(norms_path, catalog)
    assert any("dimensions:" in p or "dimensions " in p for p in problems), problems
    assert any("must span the scale" in p for p in problems), problems


def test_a_published_study_must_state_its_sample(norms_path: Path, catalog: Catalog) -> None:
    def unstated(content: dict[str, Any]) -> None:
        content["source"]["sample"] = None

    _reseal(norms_path, unstated)
    assert any("source.sample" in p for p in _problems(norms_path, catalog))


def _dimension(below: list[float], margin: float = 0.0) -> DimensionNorms:
    edges = [1.0, 2.0, 3.0, 4.0]
    return DimensionNorms(
        bins=tuple(
            NormBin(
                lower=edges[i],
                upper=edges[i + 1] if i + 1 < len(edges) else edges[i],
                count=1,
                below=share,
                margin=0.0 if i == 0 else margin,
            )
            for i, share in enumerate(below)
        )
    )


def test_a_score_on_an_edge_has_only_the_noise_margin() -> None:
    shown = percentile_of(_dimension([0, 0.2, 0.7, 0.9], margin=0.03), 3.0)
    assert (shown.percentile, shown.low, shown.high) == (70, 67, 73)
    assert shown.phrase == "about 70 in 100"


def test_a_score_inside_a_bin_spans_the_bin_and_is_said_in_fives_when_wide() -> None:
    shown = percentile_of(_dimension([0, 0.2, 0.7, 0.9], margin=0.01), 2.5)
    assert (shown.low, shown.high) == (19, 71)
    assert shown.percentile == 45
    assert shown.phrase == "about 45 in 100"
    shown = percentile_of(_dimension([0, 0.2, 0.7, 0.9], margin=0.01), 2.4)
    assert shown.percentile == 40
    assert shown.phrase == "about 40 in 100"
    shown = percentile_of(_dimension([0, 0.2, 0.73, 0.9], margin=0.01), 2.06)
    assert shown.percentile == 23
    assert shown.phrase == "about 25 in 100"


def test_the_extremes_are_said_without_a_false_zero_or_hundred() -> None:
    assert percentile_of(_dimension([0, 0.2, 0.7, 0.996]), 1.0).phrase == "fewer than 1 in 100"
    assert percentile_of(_dimension([0, 0.2, 0.7, 0.996]), 4.0).phrase == "more than 99 in 100"


def test_the_margins_hold_the_true_share_about_95_times_in_100() -> None:
    # Simulated releases: integer Laplace noise on each count (difference of two geometric
    # draws), negative counts clamped to zero, as the build does.
    rng = np.random.default_rng(2026)
    scale = 4.0
    t = math.exp(-1 / scale)
    true_counts = np.array([5, 20, 60, 110, 140, 120, 80, 40, 15, 10])
    truth = np.concatenate([[0], np.cumsum(true_counts)[:-1]]) / true_counts.sum()
    inside = []
    for _ in range(2000):
        noise = rng.geometric(1 - t, len(true_counts)) - rng.geometric(1 - t, len(true_counts))
        released = np.maximum(0, true_counts + noise).tolist()
        shares = cumulative_shares(released, discrete_laplace_variance(scale))
        inside += [abs(b - s) <= m + 1e-12 for (b, m), s in zip(shares[1:], truth[1:], strict=True)]
    coverage = sum(inside) / len(inside)
    assert 0.93 <= coverage <= 0.985, coverage


def test_dump_refuses_content_that_is_not_a_norms_file() -> None:
    with pytest.raises(ValueError, match="dimensions"):
        dump_norms({"format": "securebase-norms/1"})


def test_a_published_studys_norms_are_sealed_and_then_validate(
    norms_path: Path, tmp_path: Path
) -> None:
    content = yaml.safe_load(norms_path.read_text(encoding="utf-8"))
    content["source"] = {
        "kind": "study",
        "description": "Example et al. (2020), Journal of Examples 1(2)",
        "sample": "1,204 adults recruited online in two countries",
    }
    del content["checksum"]
    norms_path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    runner = CliRunner()
    unsealed = runner.invoke(main, ["questionnaires", "validate", str(norms_path)])
    assert unsealed.exit_code != 0
    assert "checksum" in unsealed.stderr
    sealed = runner.invoke(main, ["norms", "seal", str(norms_path)])
    assert sealed.exit_code == 0, sealed.output
    valid = runner.invoke(main, ["questionnaires", "validate", str(norms_path)])
    assert valid.exit_code == 0, valid.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: securebase-norms/1\ndimensions: 3\n", encoding="utf-8")
    refused = runner.invoke(main, ["norms", "seal", str(broken)])
    assert refused.exit_code != 0
    assert "dimensions" in refused.stderr
