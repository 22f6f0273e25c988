"""Shared fixtures for the scoring tests: the bundled catalog and a small valid definition."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scoring.catalog import Catalog
from scoring.loading import LoadedDefinition

BUNDLED_ID = "attachment-self-reflection"

_MINIMAL: dict[str, Any] = {
    "id": "mini",
    "version": "1.0.0",
    "title": {"en": "Mini"},
    "languages": ["en"],
    "estimated_minutes": 1,
    "instructions": {"en": "Answer."},
    "scales": {
        "agree": {"min": 1, "max": 3, "labels": {"en": ["No", "Maybe", "Yes"]}},
        "freq": {"min": 0, "max": 2, "labels": {"en": ["Never", "Sometimes", "Often"]}},
    },
    "dimensions": [
        {
            "id": "closeness",
            "label": {"en": "Closeness"},
            "min_answered_fraction": 0.5,
            "bands": {"moderate_from": 1.5, "elevated_from": 2.5, "borderline_margin": 0.1},
        }
    ],
    "items": [
        {"id": "c1", "dimension": "closeness", "scale": "agree", "text": {"en": "One"}},
        {"id": "c2", "dimension": "closeness", "scale": "agree", "text": {"en": "Two"}},
    ],
    "tendencies": [{"id": "anxious", "dimension": "closeness", "label": {"en": "Anxious"}}],
    "wellbeing": {
        "title": {"en": "Wellbeing"},
        "instructions": {"en": "Optional."},
        "items": [{"id": "w1", "scale": "freq", "text": {"en": "Low mood"}}],
        "risk_rules": [{"item": "w1", "at_least": 1, "level": "support"}],
    },
    "content": {"general": ["seeking-support"]},
}


@pytest.fixture
def minimal_definition() -> dict[str, Any]:
    """A small, valid definition as plain data; each test gets its own copy to break."""
    return copy.deepcopy(_MINIMAL)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def bundled(catalog: Catalog) -> LoadedDefinition:
    loaded = catalog.get(BUNDLED_ID)
    assert loaded is not None
    return loaded
