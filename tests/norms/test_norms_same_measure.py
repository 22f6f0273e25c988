"""Norms built after the bundled questionnaire's rewording (1.0.0 -> 1.0.1: only the wellbeing
instructions changed) count the responses stored under 1.0.0, which its definition declares
measure the same, together with those under 1.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from norms_support import DIMENSIONS, QUESTIONNAIRE, answer_sets, submit_all, write_norms
from releases import FIRST_RELEASE_HASH, first_release_catalog
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine
from app.services import norms as norms_service
from app.services.norms import NormsRequest
from app.services.research.context import ResearchContext
from scoring.catalog import Catalog


def _build(settings: Settings, catalog: Catalog) -> norms_service.NormsRelease:
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            release = norms_service.build(
                ResearchContext(session, catalog, settings),
                NormsRequest(QUESTIONNAIRE, epsilon=30, built_by="t"),
            )
            session.commit()
    finally:
        engine.dispose()
    return release


def test_norms_count_the_responses_stored_under_the_first_release(
    database_url: str, catalog: Catalog, tmp_path: Path
) -> None:
    first_release = first_release_catalog(tmp_path)
    settings = Settings(
        environment="test", database_url=database_url, norms_min_sample=50, norms_total_epsilon=30
    )
    # 40 under 1.0.0 and 40 under today's 1.0.1: neither half alone reaches 50.
    submit_all(settings, first_release, answer_sets(first_release, 40, seed=21))
    submit_all(settings, catalog, answer_sets(catalog, 40, seed=22))

    release = _build(settings, catalog)

    assert release.refusal is None, release.refusal
    assert release.text is not None
    content = yaml.safe_load(release.text)
    assert content["questionnaire"]["hash"] == catalog.definitions[QUESTIONNAIRE].content_hash
    assert content["questionnaire"]["hash"] != FIRST_RELEASE_HASH
    assert content["sample"]["n"] == pytest.approx(80, abs=3)  # epsilon 30: little noise


def test_norms_built_under_the_first_release_still_apply_after_the_rewording(
    catalog: Catalog, tmp_path: Path
) -> None:
    first_release = first_release_catalog(tmp_path / "first-release")
    earlier = first_release.definitions[QUESTIONNAIRE]
    sample: dict[str, list[float]] = {d: [] for d in DIMENSIONS}
    for answers in answer_sets(first_release, 200, seed=23, partial=0):
        result, _, _ = first_release.evaluate(earlier, answers, language="en", country=None)
        assert result is not None
        for dimension in DIMENSIONS:
            sample[dimension].append(result.scores[dimension].mean or 0.0)
    extra = tmp_path / "extra"
    path = write_norms(extra, earlier, sample)
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["questionnaire"]["hash"] == (
        FIRST_RELEASE_HASH
    )

    with_norms = Catalog.load([extra])
    current = with_norms.definitions[QUESTIONNAIRE]
    assert current.content_hash != FIRST_RELEASE_HASH
    answers = answer_sets(with_norms, 1, seed=24, partial=0)[0]
    result, _, _ = with_norms.evaluate(current, answers, language="en", country=None)

    assert result is not None
    assert result.questionnaire.hash == current.content_hash
    assert result.norms is not None
    assert result.norms.sample.n == 200
    # The first release itself, with the same norms file, places the same answers alike.
    first_with_norms = Catalog.load([extra], bundled_dir=tmp_path / "first-release")
    before, _, _ = first_with_norms.evaluate(
        first_with_norms.definitions[QUESTIONNAIRE], answers, language="en", country=None
    )
    assert before is not None
    assert before.norms == result.norms
