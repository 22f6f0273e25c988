"""Migration 0007: every research copy gets the packed codes a submission stores now.

Responses submitted before 0007 have a research copy and no codes; after the upgrade each
copy of a loaded questionnaire version has exactly the codes decoding it gives (what the
exports counted before), the research index holds them, and the downgrade drops them. Each
test starts from an empty database on each backend (the fixtures of
``tests/test_migrations.py``).
"""

from __future__ import annotations

import numpy as np
import test_migrations
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text

from app import migrations
from app.config import Settings
from app.main import create_app
from app.models.columns import content_hash_bytes
from app.repositories import research_arrays
from app.repositories.research_codes import code_width, packed_dimensions
from scoring.catalog import Catalog

QUESTIONNAIRE = "attachment-self-reflection"
OLDER_HASH = "sha256:" + "0" * 64
INDEX = "ix_response_session_research"

empty_database_url = test_migrations.empty_database_url
engine = test_migrations.engine


def _submit(client: TestClient, answers: dict[str, int], research: bool) -> str:
    created = client.post(
        "/api/v1/responses",
        json={
            "questionnaire_id": QUESTIONNAIRE,
            "answers": answers,
            "submit": True,
            "consent": {"research": research},
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["response_id"])


def _index_columns(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        for index in inspect(connection).get_indexes("response_session"):
            if index["name"] == INDEX:
                return [str(name) for name in index["column_names"]]
    raise AssertionError("no research index")


def test_upgrading_stores_the_codes_every_research_copy_decodes_to(
    empty_database_url: str, engine: Engine, catalog: Catalog
) -> None:
    definition = catalog.definitions[QUESTIONNAIRE].definition
    migrations.upgrade(empty_database_url)
    rng = np.random.default_rng(2)
    app = create_app(Settings(environment="test", database_url=empty_database_url), catalog)
    with TestClient(app) as client:
        consented = [
            _submit(
                client,
                {
                    item.id: int(rng.integers(1, 8))
                    for dimension in definition.dimensions
                    for index, item in enumerate(definition.items_of(dimension.id))
                    if index != skipped  # one item of each dimension left out, or none
                },
                research=True,
            )
            for skipped in [*range(9), 9, 9, 9]
        ]
        declined = _submit(client, {i.id: 4 for i in definition.items}, research=False)
    migrations.downgrade(empty_database_url, "0006")
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("response_session")}
    assert "research_codes" not in columns
    assert "research_codes" not in _index_columns(engine)
    older = consented.pop()
    # An earlier version the loaded one declares measures the same gets its codes like it.
    same_measure = consented[-1]
    declared = catalog.definitions[QUESTIONNAIRE].definition.same_measure_as[0]
    with engine.begin() as connection:
        for response_id, content_hash in ((older, OLDER_HASH), (same_measure, declared)):
            connection.execute(
                text("UPDATE response_session SET questionnaire_hash = :hash WHERE id = :id"),
                {"hash": content_hash_bytes(content_hash), "id": response_id},
            )

    migrations.upgrade(empty_database_url)

    with engine.connect() as connection:
        rows = {
            r[0]: (r[1], r[2])
            for r in connection.execute(
                text("SELECT id, research_answers, research_codes FROM response_session")
            )
        }
    assert rows[declined] == (None, None)
    assert rows[older][0] is not None
    assert rows[older][1] is None  # no loaded version to read it by: decoded when exported
    dimensions = packed_dimensions(definition)
    width = code_width(dimensions)
    for response_id in consented:
        copy, codes = (bytes(value) for value in rows[response_id])
        counts = research_arrays.CodeCounts(dimensions)
        counts.add([None], research_arrays.matrix_of([copy]))
        decoded = {index: code for (_, index, code) in counts.counter()}
        assert [
            int.from_bytes(codes[i * width : (i + 1) * width], "big")
            for i in range(len(dimensions))
        ] == [decoded[i] for i in range(len(dimensions))]
    assert _index_columns(engine)[-2:] == ["research_answers", "research_codes"]
