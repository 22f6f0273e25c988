"""A response stored under the bundled questionnaire's first release (1.0.0), read as a FHIR
QuestionnaireResponse, names the version it was scored with; posted back to the service after
the rewording (1.0.1 declares 1.0.0 measures the same) it is scored, identically. A version the
definition does not declare still gets 409."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from releases import FIRST_RELEASE_HASH, QUESTIONNAIRE, first_release_catalog

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

FHIR_QR = "/api/v1/fhir/QuestionnaireResponse"
ANSWERS = {
    **{f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)},
    **{f"anx{n:02d}": 6 for n in range(1, 10)},
    "wb_overwhelmed": 1,
}


@contextmanager
def serving(settings: Settings, catalog: Catalog) -> Iterator[TestClient]:
    app = create_app(settings, catalog)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def scored_result(bundle: dict[str, Any]) -> dict[str, Any]:
    (binary,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Binary"
    ]
    result: dict[str, Any] = json.loads(base64.b64decode(binary["data"]))
    return result


def test_a_stored_first_release_response_posted_back_scores_identically(
    settings: Settings, catalog: Catalog, tmp_path: Path
) -> None:
    with serving(settings, first_release_catalog(tmp_path)) as before:
        created = before.post(
            "/api/v1/responses",
            json={"questionnaire_id": QUESTIONNAIRE, "answers": ANSWERS, "submit": True},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        auth = {"Authorization": f"Bearer {body['token']}"}

    with serving(settings, catalog) as after:
        read = after.get(f"/api/v1/responses/{body['response_id']}/fhir", headers=auth)
        assert read.status_code == 200
        stored = read.json()
        assert stored["questionnaire"].endswith(f"|1.0.0+{FIRST_RELEASE_HASH}")
        posted = after.post(FHIR_QR, json=stored)
        undeclared = after.post(
            FHIR_QR,
            json={
                **stored,
                "questionnaire": stored["questionnaire"].replace("1.0.0+", "0.9.0+")[:-64]
                + "0" * 64,
            },
        )

    assert posted.status_code == 200, posted.text
    rescored = scored_result(posted.json())
    first = body["result"]
    assert rescored["scores"] == first["scores"]
    assert rescored["tendencies"] == first["tendencies"]
    assert rescored["primary_tendency"] == first["primary_tendency"] == "anxious"
    assert rescored["questionnaire"]["hash"] == catalog.definitions[QUESTIONNAIRE].content_hash
    assert undeclared.status_code == 409
