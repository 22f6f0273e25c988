"""A definition that names no tendencies reports scores only: it never calls anyone secure.

"Secure" means that none of the tendencies a definition names is elevated. The ECR-R key, or an
instrument of one's own with two dimensions and no tendencies, names none, so a complete answer
set is described by its scores, by the single scorer, the batch scorer and the result alike.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from scoring.answers import check_answers
from scoring.catalog import BUNDLED_DIR, Catalog
from scoring.engine import score
from scoring.loading import LoadedDefinition, content_hash, parse_definition
from scoring.vectorized import score_answer_sets

LIBRARY_FILE = BUNDLED_DIR / "library" / "ecr-r.yaml"


def _without_tendencies() -> LoadedDefinition:
    document = yaml.safe_load(LIBRARY_FILE.read_text(encoding="utf-8"))
    document.pop("tendencies", None)
    document.get("content", {}).pop("tendencies", None)
    definition = parse_definition(document, "ecr-r-scores-only.yaml")
    return LoadedDefinition(definition, Path("ecr-r-scores-only.yaml"), content_hash(definition))


def test_a_complete_answer_set_gets_scores_and_no_tendency() -> None:
    loaded = _without_tendencies()
    definition = loaded.definition
    raw = {item.id: 4 for item in definition.items}
    answers, problems = check_answers(definition, raw)

    single = score(definition, answers)
    (batch,) = score_answer_sets(definition, [raw])
    result, _, _ = Catalog.load().evaluate(loaded, raw, language="en", country=None)

    assert problems == []
    assert all(d.sufficient for d in single.dimensions.values())
    assert single.primary_tendency is None
    assert batch.scoring is not None
    assert batch.scoring.primary_tendency is None
    assert result is not None
    assert result.primary_tendency is None
    assert "secure" not in result.summary.lower()
    assert "scores only" in result.summary
    assert {s.id for s in result.psychoeducation}.isdisjoint(definition.content.secure)


def test_the_bundled_questionnaire_still_calls_a_low_answer_set_secure() -> None:
    catalog = Catalog.load()
    loaded = catalog.get("attachment-self-reflection")
    assert loaded is not None
    raw = {item.id: 1 for item in loaded.definition.items}

    result, _, _ = catalog.evaluate(loaded, raw, language="en", country=None)

    assert result is not None
    assert result.primary_tendency == "secure"
