"""After the bundled questionnaire's wellbeing instructions were reworded (1.0.0 -> 1.0.1, a
new content hash, nothing measured changed), responses stored under 1.0.0 still count in every
research export, the exports say which hashes they cover, and each stored response still reads
back exactly as it was given: its result, its FHIR view, an idempotent replay."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from releases import FIRST_RELEASE_HASH, first_release_catalog
from research_support import NOW, QUESTIONNAIRE, Respondent, export, insert, new_key, ok
from sqlalchemy import func, select

from app.config import Settings
from app.main import create_app
from app.models import ResponseSession
from app.repositories.research_scope import ResponseFilter
from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}
ANXIOUS = {**ANSWERS, **{f"anx{n:02d}": 7 for n in range(1, 10)}, "anx03": 1, "anx07": 1}
UNDECLARED_HASH = "sha256:" + "0" * 64


@pytest.fixture(scope="module")
def first_release(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return first_release_catalog(tmp_path_factory.mktemp("first-release"))


@contextmanager
def serving(database_url: str, catalog: Catalog) -> Iterator[TestClient]:
    app = create_app(
        Settings(environment="test", database_url=database_url, default_country=None), catalog
    )
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def submit(client: TestClient, answers: dict[str, int], key: str | None = None) -> Any:
    response = client.post(
        "/api/v1/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": answers,
            "submit": True,
            "consent": {"research": True},
        },
        headers={"Idempotency-Key": key} if key else {},
    )
    assert response.status_code == 201, response.text
    return response


def test_responses_stored_under_the_first_release_count_after_the_rewording(
    database_url: str, catalog: Catalog, first_release: Catalog
) -> None:
    current = catalog.definitions[QUESTIONNAIRE].content_hash
    assert current != FIRST_RELEASE_HASH
    with serving(database_url, first_release) as before:
        stored = [submit(before, ANXIOUS).json() for _ in range(12)]
    assert {s["result"]["questionnaire"]["hash"] for s in stored} == {FIRST_RELEASE_HASH}

    with serving(database_url, catalog) as after:
        for _ in range(11):
            submit(after, ANSWERS)
        engine = after.app.state.engine  # type: ignore[attr-defined]
        # A hash no definition declares stays out, as before.
        insert(
            engine,
            catalog,
            [Respondent(dict(ANXIOUS), extra={"questionnaire_hash": UNDECLARED_HASH})] * 5,
        )
        covered = ResponseFilter(QUESTIONNAIRE, current, same_measure_as=(FIRST_RELEASE_HASH,))
        with engine.connect() as connection:
            counts = [
                connection.execute(
                    select(func.count()).select_from(ResponseSession).where(*w.conditions())
                ).scalar_one()
                for w in (covered, *covered.per_hash())
            ]
        assert counts == [23, 11, 12]  # all, then the current hash's, then 1.0.0's
        key = new_key(engine)
        summary = ok(export(after, "summary", key))
        items = ok(export(after, "items", key))
        histograms = ok(export(after, "histograms", key))
        codebook = ok(export(after, "codebook", key))
        csv_text = export(after, "summary", key, format="csv").text

    assert summary["n"] == 23
    assert summary["dimensions"]["anxiety"]["n"] == 23
    assert summary["dimensions"]["anxiety"]["max"] == 7.0  # only 1.0.0's responses reach 7
    assert summary["tendencies"]["primary"]["anxious"]["count"] == 12
    assert items["items"]["anx01"]["n"] == 23
    assert items["items"]["anx01"]["distribution"]["7"] == 12
    assert histograms["dimensions"]["anxiety"]["n"] == 23
    for meta in (summary["meta"], items["meta"], histograms["meta"], codebook):
        assert meta["questionnaire"]["hash"] == current
        assert meta["questionnaire"]["version"] == "1.0.1"
        assert meta["content_hashes"] == [current, FIRST_RELEASE_HASH]
    assert FIRST_RELEASE_HASH in summary["meta"]["coverage"]
    comments = [line for line in csv_text.splitlines() if line.startswith("#")]
    assert f"# content_hashes: {json.dumps([current, FIRST_RELEASE_HASH])}" in comments


def test_exports_cover_the_days_of_the_first_release_before_the_rewording(
    database_url: str, catalog: Catalog
) -> None:
    """The exports count a day at a time from the first covered day to the last: the days
    before the rewording, which only 1.0.0's responses have, are among them."""
    current = catalog.definitions[QUESTIONNAIRE].content_hash
    earlier = [
        Respondent(
            dict(ANXIOUS),
            submitted_at=NOW - dt.timedelta(days=30 + n),
            extra={"questionnaire_hash": FIRST_RELEASE_HASH},
        )
        for n in range(12)
    ]
    later = [Respondent(dict(ANSWERS), submitted_at=NOW - dt.timedelta(days=n)) for n in range(11)]
    with serving(database_url, catalog) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        insert(engine, catalog, [*earlier, *later])
        key = new_key(engine)
        summary = ok(export(client, "summary", key))
        items = ok(export(client, "items", key))
        histograms = ok(export(client, "histograms", key))
    assert summary["meta"]["content_hashes"] == [current, FIRST_RELEASE_HASH]
    assert summary["n"] == 23
    assert summary["tendencies"]["primary"]["anxious"]["count"] == 12
    assert items["items"]["anx01"]["n"] == 23
    assert items["items"]["anx01"]["distribution"]["7"] == 12
    assert histograms["dimensions"]["anxiety"]["n"] == 23


def test_a_response_stored_under_the_first_release_reads_back_as_it_was_given(
    database_url: str, catalog: Catalog, first_release: Catalog
) -> None:
    with serving(database_url, first_release) as before:
        created = submit(before, ANXIOUS, key="first-release-0001")
        body = created.json()
        auth = {"Authorization": f"Bearer {body['token']}"}
        read_before = before.get(f"/api/v1/responses/{body['response_id']}", headers=auth)
        fhir_before = before.get(f"/api/v1/responses/{body['response_id']}/fhir", headers=auth)
    assert read_before.status_code == 200
    assert fhir_before.status_code == 200

    with serving(database_url, catalog) as after:
        read_after = after.get(f"/api/v1/responses/{body['response_id']}", headers=auth)
        fhir_after = after.get(f"/api/v1/responses/{body['response_id']}/fhir", headers=auth)
        replay = submit(after, ANXIOUS, key="first-release-0001")
        submitted_again = after.post(
            f"/api/v1/responses/{body['response_id']}/submit", headers=auth
        )

    assert read_after.status_code == 200
    assert read_after.content == read_before.content
    assert read_after.json()["result"] == body["result"]
    assert read_after.json()["result"]["questionnaire"]["hash"] == FIRST_RELEASE_HASH
    assert fhir_after.status_code == 200
    assert fhir_after.content == fhir_before.content
    assert fhir_after.json()["questionnaire"].endswith(f"|1.0.0+{FIRST_RELEASE_HASH}")
    # The same Idempotency-Key answers with the first answer, byte for byte.
    assert replay.content == created.content
    # Submitting again (idempotent by nature) gives the result given under 1.0.0.
    assert submitted_again.status_code == 200, submitted_again.text
    assert submitted_again.json()["result"] == body["result"]


def test_without_the_declaration_the_first_release_would_drop_out(
    database_url: str, catalog: Catalog, first_release: Catalog, tmp_path: Path
) -> None:
    # What the declaration prevents: the same rewording without it covers only new responses.
    undeclared = tmp_path / "undeclared"
    undeclared.mkdir()
    bundled = catalog.definitions[QUESTIONNAIRE].source
    text = bundled.read_text(encoding="utf-8")
    start = text.index("\nresearch:")
    end = text.index("\ncontent:")
    for shared in ("content", "resources"):
        (undeclared / shared).symlink_to(bundled.parent / shared, target_is_directory=True)
    (undeclared / bundled.name).write_text(text[:start] + text[end:], encoding="utf-8")
    without = Catalog.load(bundled_dir=undeclared)
    assert without.definitions[QUESTIONNAIRE].content_hash == (
        catalog.definitions[QUESTIONNAIRE].content_hash
    )
    with serving(database_url, first_release) as before:
        for _ in range(12):
            submit(before, ANXIOUS)
    with serving(database_url, without) as after:
        key = new_key(after.app.state.engine)  # type: ignore[attr-defined]
        summary = ok(export(after, "summary", key))
    assert summary["n"] == 0
    assert summary["meta"]["content_hashes"] == [without.definitions[QUESTIONNAIRE].content_hash]


def test_the_api_document_tells_integrators_which_hashes_an_export_covers(
    research_client: TestClient,
) -> None:
    document = research_client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for schema in ("ExportMeta", "Codebook"):
        described = schemas[schema]["properties"]["content_hashes"]
        assert described["type"] == "array"
        assert "research.same_measure_as" in described["description"]
        assert "content_hashes" in schemas[schema]["required"]
    (research,) = [tag for tag in document["tags"] if tag["name"] == "research"]
    assert "meta.content_hashes" in research["description"]
