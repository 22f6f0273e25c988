"""The result's explanation of how it was computed states the definition's own rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scoring.catalog import Catalog
from scoring.engine import score
from scoring.loading import LoadedDefinition, load_definition
from scoring.result import compose_result
from scoring.risk import assess_risk


def how_scored(loaded: LoadedDefinition, catalog: Catalog, answers: dict[str, int]) -> str:
    definition = loaded.definition
    return compose_result(
        definition=definition,
        definition_hash=loaded.content_hash,
        scoring=score(definition, answers),
        risk=assess_risk(definition, answers),
        language="en",
        country=None,
        content=catalog.content,
        crisis=catalog.crisis,
    ).how_scored


def test_reverse_keying_is_explained_with_the_statements_scale_not_the_wellbeing_check(
    bundled: LoadedDefinition, catalog: Catalog
) -> None:
    # The wellbeing check answers on 0..3 and yes/no; the statements on 1..7.
    text = how_scored(bundled, catalog, {item.id: 4 for item in bundled.definition.items})
    assert "on a scale from 1 to 7" in text
    assert "turned around as 1 + 7 \N{MINUS SIGN} your answer" in text
    assert "at least 75% of a dimension's statements" in text


def test_the_share_that_must_be_answered_is_the_definitions_own(
    tmp_path: Path, minimal_definition: dict[str, Any], catalog: Catalog
) -> None:
    file = tmp_path / "half.yaml"
    file.write_text(yaml.safe_dump(minimal_definition), encoding="utf-8")
    loaded = load_definition(file)
    assert loaded.definition.dimensions[0].min_answered_fraction == 0.5

    text = how_scored(loaded, catalog, {"c1": 2, "c2": 3})

    assert "at least 50% of a dimension's statements" in text
    assert "on a scale from 1 to 3" in text
