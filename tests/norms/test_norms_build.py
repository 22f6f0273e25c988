"""``norms build``: a differentially private norms file from consenting submitted responses,
charged to the questionnaire's own norms budget, refused for small samples and when the budget
is spent; the percentiles it gives match an exact computation within the stated interval."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from norms_support import (
    DIMENSIONS,
    QUESTIONNAIRE,
    answer_sets,
    exact_share_below,
    submit_all,
    today,
)
from sqlmodel import Session

from app.cli import main
from app.config import Settings, get_settings
from app.db import create_db_engine
from app.repositories import research_budget
from app.services import norms as norms_service
from app.services.norms import NormsBudgetExhausted, NormsRequest, ledger_key
from app.services.research.context import ResearchContext
from scoring.catalog import Catalog
from scoring.norms import check_norms, parse_norms, percentile_of

LEDGER = ledger_key(QUESTIONNAIRE)


def _settings(database_url: str, **overrides: object) -> Settings:
    return Settings(environment="test", database_url=database_url, **overrides)  # type: ignore[arg-type]


def _build(
    settings: Settings, catalog: Catalog, request: NormsRequest
) -> norms_service.NormsRelease:
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            release = norms_service.build(ResearchContext(session, catalog, settings), request)
            session.commit()
    finally:
        engine.dispose()
    return release


def _spent(settings: Settings) -> float:
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            return research_budget.spent(session, LEDGER)
    finally:
        engine.dispose()


@pytest.fixture
def large_sample(database_url: str, catalog: Catalog) -> list[dict[str, float]]:
    """620 consenting responses, and 40 that did not consent (which must not count)."""
    settings = _settings(database_url)
    submit_all(settings, catalog, answer_sets(catalog, 40, seed=7), consent=False)
    return submit_all(settings, catalog, answer_sets(catalog, 620, seed=3))


def test_norms_match_an_exact_computation_within_their_interval(
    database_url: str, catalog: Catalog, large_sample: list[dict[str, float]], tmp_path: Path
) -> None:
    # A large epsilon makes the noise small; what is checked is that the file's percentiles,
    # including the spread within a bin for partly answered dimensions, hold the exact share.
    settings = _settings(database_url, norms_total_epsilon=40)
    release = _build(
        settings, catalog, NormsRequest(QUESTIONNAIRE, epsilon=40, built_by="Test operator")
    )
    assert release.refusal is None
    assert release.text is not None
    path = tmp_path / "norms" / QUESTIONNAIRE / f"{today()}.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(release.text, encoding="utf-8")
    norms = parse_norms(path)
    loaded = catalog.definitions[QUESTIONNAIRE]
    assert norms.questionnaire.hash == loaded.content_hash
    assert abs(norms.sample.n - 620) <= 3  # consenting only, with a little noise
    assert norms.built.by == "Test operator"
    assert norms.sample.until == today()
    assert norms.privacy is not None
    assert norms.privacy.epsilon == 40
    assert norms.privacy.ledger == LEDGER
    checked, problems = check_norms([path], [loaded])
    assert problems == []
    assert len(checked) == 1
    between_edges = 0
    for dimension in DIMENSIONS:
        sample = [person[dimension] for person in large_sample]
        for score in sorted(set(sample)):
            exact = exact_share_below(sample, score) * 100
            shown = percentile_of(norms.dimensions[dimension], score)
            assert shown.low <= exact <= shown.high, (dimension, score, exact, shown)
            assert shown.low <= shown.percentile <= shown.high
            between_edges += round(score * 9, 6) % 1 != 0
    assert between_edges > 0  # partly answered dimensions were checked too


def test_a_build_charges_the_questionnaires_own_norms_budget(
    database_url: str, catalog: Catalog, large_sample: list[dict[str, float]]
) -> None:
    settings = _settings(database_url, norms_total_epsilon=1.0)
    release = _build(settings, catalog, NormsRequest(QUESTIONNAIRE, epsilon=0.6, built_by="t"))
    assert release.text is not None
    assert _spent(settings) == pytest.approx(0.6)
    assert release.budget_left == pytest.approx(0.4)
    # What was released is noisy: Laplace noise at the scale OpenDP calibrates for one
    # response added or removed (sensitivity 1) at each release's share of epsilon.
    content = yaml.safe_load(release.text)
    assert content["privacy"]["noise_scale"] == pytest.approx(4 / 0.6, rel=0.01)
    exact = [0] * 55
    for person in large_sample:
        exact[int((person["anxiety"] - 1) * 9 + 1e-9)] += 1
    released = [b["count"] for b in content["dimensions"]["anxiety"]["bins"]]
    assert released != exact
    assert sum(abs(r - e) for r, e in zip(released, exact, strict=True)) < 55 * 4 / 0.6 * 3
    # Norms are charged apart from every study's budget.
    engine = create_db_engine(settings)
    with Session(engine) as session:
        assert research_budget.spent(session, "alpha") == 0
    engine.dispose()
    # The budget is exhausted: the next release is refused and nothing more is charged.
    with pytest.raises(NormsBudgetExhausted) as refused:
        _build(settings, catalog, NormsRequest(QUESTIONNAIRE, epsilon=0.6, built_by="t"))
    assert "0.4 left" in refused.value.detail
    assert _spent(settings) == pytest.approx(0.6)


def test_a_small_sample_is_refused_and_costs_only_the_count(
    database_url: str, catalog: Catalog
) -> None:
    settings = _settings(database_url)
    submit_all(settings, catalog, answer_sets(catalog, 30, seed=11))
    release = _build(settings, catalog, NormsRequest(QUESTIONNAIRE, epsilon=0.8, built_by="t"))
    assert release.text is None
    assert release.refusal is not None
    assert "at least 500" in release.refusal
    # The noisy count was drawn: its share (one of 1 + 3 releases) is spent, no more.
    assert _spent(settings) == pytest.approx(0.8 / 4)


def test_the_minimum_sample_is_a_setting(database_url: str, catalog: Catalog) -> None:
    settings = _settings(database_url, norms_min_sample=20, norms_total_epsilon=30)
    submit_all(settings, catalog, answer_sets(catalog, 60, seed=5))
    release = _build(settings, catalog, NormsRequest(QUESTIONNAIRE, epsilon=30, built_by="t"))
    assert release.refusal is None
    assert release.text is not None
    assert "n: 6" in release.text  # about 60


def test_a_study_and_dates_narrow_the_sample(database_url: str, catalog: Catalog) -> None:
    settings = _settings(database_url, norms_min_sample=20, norms_total_epsilon=60)
    submit_all(settings, catalog, answer_sets(catalog, 30, seed=5), study="alpha")
    submit_all(settings, catalog, answer_sets(catalog, 60, seed=6), study="beta")
    release = _build(
        settings,
        catalog,
        NormsRequest(QUESTIONNAIRE, epsilon=30, built_by="t", study="alpha"),
    )
    content = yaml.safe_load(release.text or "")
    assert content["sample"]["study"] == "alpha"
    assert abs(content["sample"]["n"] - 30) <= 2
    past = today().replace(year=today().year - 1)
    refused = _build(
        settings,
        catalog,
        NormsRequest(QUESTIONNAIRE, epsilon=28, built_by="t", since=past, until=past),
    )
    assert refused.text is None  # nobody submitted on that day


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", database_url)
    monkeypatch.setenv("SECUREBASE_NORMS_MIN_SAMPLE", "20")
    monkeypatch.setenv("SECUREBASE_NORMS_TOTAL_EPSILON", "10")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_command_writes_a_file_that_validates_and_catches_tampering(
    database_url: str, catalog: Catalog, cli_env: None, tmp_path: Path
) -> None:
    submit_all(_settings(database_url), catalog, answer_sets(catalog, 60, seed=9))
    runner = CliRunner()
    built = runner.invoke(
        main,
        [
            "norms",
            "build",
            QUESTIONNAIRE,
            "--epsilon",
            "5",
            "--built-by",
            "Ops team",
            "--since",
            "2026-01-01",
            "--output-dir",
            str(tmp_path / "norms"),
        ],
    )
    assert built.exit_code == 0, built.output
    path = tmp_path / "norms" / QUESTIONNAIRE / f"{today()}.yaml"
    assert f"wrote {path}" in built.stdout
    assert f"epsilon 5 charged to {LEDGER}" in built.stdout
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert content["built"]["by"] == "Ops team"
    assert content["sample"]["since"] == "2026-01-01"

    ok = runner.invoke(main, ["questionnaires", "validate", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "ok (norms of" in ok.stdout

    # A second build the same day would overwrite a reviewed file: refused before any charge.
    again = runner.invoke(
        main, ["norms", "build", QUESTIONNAIRE, "--output-dir", str(tmp_path / "norms")]
    )
    assert again.exit_code != 0
    assert "exists" in again.output

    content["dimensions"]["anxiety"]["bins"][5]["below"] = 0.9
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    tampered = runner.invoke(main, ["questionnaires", "validate", str(path)])
    assert tampered.exit_code != 0
    assert "checksum" in tampered.stderr


def test_the_command_refuses_a_small_sample_with_a_clear_message(
    database_url: str, catalog: Catalog, cli_env: None, tmp_path: Path
) -> None:
    submit_all(_settings(database_url), catalog, answer_sets(catalog, 3, seed=9))
    result = CliRunner().invoke(
        main, ["norms", "build", QUESTIONNAIRE, "--output-dir", str(tmp_path / "out")]
    )
    assert result.exit_code != 0
    assert "too few responses" in result.stderr
    assert not (tmp_path / "out").exists()
    unknown = CliRunner().invoke(
        main, ["norms", "build", "no-such", "--output-dir", str(tmp_path / "out")]
    )
    assert unknown.exit_code != 0
    assert "questionnaire_id" in unknown.stderr
