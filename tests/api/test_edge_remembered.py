"""The risk edge remembers what a combination of risk pairs screened to: the answer must be
exactly what screening them afresh gives, whatever the values' types, and never outlive the
catalog it came from."""

from __future__ import annotations

import random
from dataclasses import replace

from fastapi.testclient import TestClient
from helpers import API

from app.edge.remembered import MAX_TEXT, RememberedScreening
from app.services.screening import screen_pairs
from scoring.catalog import Catalog

QUESTIONNAIRE = "attachment-self-reflection"
ITEMS = ["wb_now", "wb_life", "wb_selfharm", "wb_substance", "wb_overwhelmed", "WB_NOW"]
VALUES: list[object] = [0, 1, 2, 1.0, 0.5, True, False, None, "1", "yes", "never", " 1 ", "x" * 90]


def test_a_remembered_screening_equals_a_fresh_one(catalog: Catalog) -> None:
    remembered = RememberedScreening(capacity=50)
    chooser = random.Random(20261130)
    for _ in range(600):
        pairs = [
            (chooser.choice(ITEMS), chooser.choice(VALUES)) for _ in range(chooser.randint(0, 6))
        ]
        questionnaire = chooser.choice([QUESTIONNAIRE, None, "no-such-questionnaire"])
        fresh = screen_pairs(catalog, pairs, questionnaire)
        assert remembered.screen(catalog, pairs, questionnaire) == fresh, pairs
        assert remembered.screen(catalog, pairs, questionnaire) == fresh, pairs


def test_values_equal_in_python_but_of_another_type_are_kept_apart(catalog: Catalog) -> None:
    remembered = RememberedScreening()
    for value in (1, True, 1.0, "1", "x" * (MAX_TEXT + 1)):
        pairs = [("wb_now", value)]
        assert remembered.screen(catalog, pairs, QUESTIONNAIRE) == screen_pairs(
            catalog, pairs, QUESTIONNAIRE
        )


def test_another_catalog_is_screened_afresh(catalog: Catalog) -> None:
    remembered = RememberedScreening()
    pairs = [("wb_now", 1)]
    assert remembered.screen(catalog, pairs, QUESTIONNAIRE).indicated
    without_definitions = replace(catalog, definitions={})
    assert not remembered.screen(without_definitions, pairs, QUESTIONNAIRE).indicated


def test_the_same_risky_body_again_gets_the_notice_again(client: TestClient) -> None:
    body = {"questionnaire_id": QUESTIONNAIRE, "answers": {"wb_now": 1}}
    first = client.post(f"{API}/responses", json=body)
    again = client.post(f"{API}/responses", json=body)
    calm = client.post(f"{API}/responses", json={**body, "answers": {"wb_now": 0}})
    assert first.status_code == again.status_code == 201
    assert first.json()["crisis"]["level"] == again.json()["crisis"]["level"] == "acute"
    assert calm.json().get("crisis") is None
