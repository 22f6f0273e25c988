"""A result carries the norms when a norms file matches its definition's content hash: on
stateless scoring and on a submitted response, whose stored result keeps the percentiles it
was shown. Without norms a result is exactly as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from norms_support import DIMENSIONS, QUESTIONNAIRE, answer_sets, exact_share_below, write_norms

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog
from scoring.norms import dump_norms

API = "/api/v1"


@pytest.fixture(scope="module")
def sample(catalog: Catalog) -> dict[str, list[float]]:
    """Exact scores of 300 generated people, every dimension fully answered."""
    loaded = catalog.definitions[QUESTIONNAIRE]
    scores: dict[str, list[float]] = {d: [] for d in DIMENSIONS}
    for answers in answer_sets(catalog, 300, seed=21, partial=0):
        result, _, problems = catalog.evaluate(loaded, answers, language="en", country=None)
        assert result is not None
        assert not problems
        for dimension in DIMENSIONS:
            mean = result.scores[dimension].mean
            assert mean is not None
            scores[dimension].append(mean)
    return scores


@pytest.fixture(scope="module")
def norms_catalog(
    catalog: Catalog, sample: dict[str, list[float]], tmp_path_factory: pytest.TempPathFactory
) -> Catalog:
    folder = tmp_path_factory.mktemp("questionnaires")
    write_norms(folder, catalog.definitions[QUESTIONNAIRE], sample)
    return Catalog.load([folder])


def _client(settings: Settings, catalog: Catalog) -> Iterator[TestClient]:
    app = create_app(settings, catalog)
    with TestClient(app) as http:
        yield http
    app.state.engine.dispose()


@pytest.fixture
def normed(settings: Settings, norms_catalog: Catalog) -> Iterator[TestClient]:
    yield from _client(settings, norms_catalog)


def _answers(catalog: Catalog, anxiety: int, avoidance: int) -> dict[str, int]:
    definition = catalog.definitions[QUESTIONNAIRE].definition
    answers = {}
    for item in definition.items:
        value = {"anxiety": anxiety, "avoidance": avoidance}.get(item.dimension, 3)
        answers[item.id] = 8 - value if item.reverse else value
    return answers


def _submission(catalog: Catalog, anxiety: int, avoidance: int) -> dict[str, Any]:
    answers = _answers(catalog, anxiety, avoidance)
    return {"questionnaire_id": QUESTIONNAIRE, "answers": answers, "submit": True}


def _expected(sample: dict[str, list[float]], dimension: str, score: float) -> int:
    return round(exact_share_below(sample[dimension], score) * 100)


def test_stateless_scoring_shows_where_each_score_stands(
    normed: TestClient, catalog: Catalog, sample: dict[str, list[float]]
) -> None:
    response = normed.post(
        f"{API}/questionnaires/{QUESTIONNAIRE}/score", json={"answers": _answers(catalog, 5, 2)}
    )
    assert response.status_code == 200, response.text
    norms = response.json()["norms"]
    assert norms["sample"] == {
        "n": 300,
        "since": "2026-03-01",
        "until": "2026-10-31",
        "source": "A test sample",
        "kind": "study",
        "built_on": "2026-11-01",
        "epsilon": None,
    }
    anxiety = norms["dimensions"]["anxiety"]
    expected = _expected(sample, "anxiety", 5.0)
    assert anxiety["percentile"] == expected
    # No noise and a score on a bin's edge: the interval is the rounding only.
    assert anxiety["low"] <= expected <= anxiety["high"]
    assert anxiety["high"] - anxiety["low"] <= 1
    assert anxiety["phrase"] == f"about {expected} in 100"
    assert norms["dimensions"]["avoidance"]["percentile"] == _expected(sample, "avoidance", 2.0)
    assert set(norms["dimensions"]) == set(DIMENSIONS)


def test_a_submitted_result_keeps_the_norms_it_was_shown(
    normed: TestClient, settings: Settings, catalog: Catalog
) -> None:
    created = normed.post(
        f"{API}/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": _answers(catalog, 6, 3),
            "submit": True,
        },
    )
    assert created.status_code == 201, created.text
    shown = created.json()["result"]["norms"]
    assert shown["dimensions"]["anxiety"]["percentile"] > 50
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    path = f"{API}/responses/{created.json()['response_id']}"
    assert normed.get(path, headers=headers).json()["result"]["norms"] == shown
    # The norms file is withdrawn (another instance, a new release): the stored result is
    # returned exactly as it was scored, percentiles included.
    for plain in _client(settings, catalog):
        assert plain.get(path, headers=headers).json()["result"]["norms"] == shown
        again = plain.post(f"{path}/submit", headers=headers)
        assert again.json()["result"]["norms"] == shown


def test_without_norms_a_result_has_no_norms(client: TestClient, catalog: Catalog) -> None:
    scored = client.post(
        f"{API}/questionnaires/{QUESTIONNAIRE}/score", json={"answers": _answers(catalog, 5, 2)}
    )
    assert "norms" not in scored.json()
    created = client.post(
        f"{API}/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": _answers(catalog, 5, 2),
            "submit": True,
        },
    )
    assert "norms" not in created.json()["result"]


def test_norms_for_another_definition_hash_are_not_used(
    catalog: Catalog, sample: dict[str, list[float]], tmp_path: Path, settings: Settings
) -> None:
    loaded = catalog.definitions[QUESTIONNAIRE]
    path = write_norms(tmp_path, loaded, sample)
    text = path.read_text(encoding="utf-8").replace(loaded.content_hash, "sha256:" + "0" * 64)
    # Re-seal it so that only the hash differs: an earlier version's norms, kept as history.

    content: dict[str, Any] = yaml.safe_load(text)
    path.write_text(dump_norms(content), encoding="utf-8")
    older = Catalog.load([tmp_path])
    assert older.norms.get(loaded.content_hash) is None
    for http in _client(settings, older):
        scored = http.post(
            f"{API}/questionnaires/{QUESTIONNAIRE}/score", json={"answers": _answers(catalog, 5, 2)}
        )
        assert "norms" not in scored.json()


def test_the_result_schema_declares_the_optional_norms(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    result = schemas["ScoreResult"]
    assert "norms" in result["properties"]
    assert "norms" not in result.get("required", [])
    assert {"percentile", "low", "high", "phrase"} <= set(schemas["NormPercentile"]["properties"])
