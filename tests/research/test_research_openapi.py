"""The research operations keep their OpenAPI contract with a valid key, checked by
schemathesis: generated query strings (valid and not) against a database with responses;
no server error, documented status codes, media types and bodies (JSON and problem+json).

Without a key every research operation answers 401, which the project-wide schemathesis run
(``tests/api/test_openapi_schema.py``) already covers; here the key is valid, so the exports'
own response schemas are what gets checked. Bounded: derandomised, ``MAX_EXAMPLES`` cases per
operation and mode.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import numpy as np
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from research_support import QUESTIONNAIRE, Respondent, insert, latent_answers, new_key
from schemathesis.python import asgi as schemathesis_asgi

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

MAX_EXAMPLES = 30
PROBLEM = "application/problem+json"
OPERATIONS = ("summary", "histograms", "items", "codebook")

DOCUMENT: dict[str, Any] = create_app(
    Settings(environment="test", database_url="sqlite://"), Catalog.load()
).openapi()
schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=schemathesis.Config.from_dict({"output": {"sanitization": {"enabled": False}}})
)
_problem = jsonschema_rs.validator_for(
    {"$ref": "#/components/schemas/Problem", "components": DOCUMENT["components"]}
)


def problem_conformance(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A problem+json body matches the Problem component and its status."""
    if response.headers.get("content-type", [""])[0].split(";")[0] != PROBLEM:
        return
    body = response.json()
    assert not list(_problem.iter_errors(body)), body
    assert body["status"] == response.status_code


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    problem_conformance,
]


@pytest.fixture
def application(research_client: TestClient, catalog: Catalog) -> Iterator[tuple[FastAPI, str]]:
    app = research_client.app
    assert isinstance(app, FastAPI)
    engine = app.state.engine
    rng = np.random.default_rng(3)
    people = [
        Respondent(
            answers, study=str(rng.choice(["alpha", "beta"])), country=str(rng.choice(["DE", "GB"]))
        )
        for answers in latent_answers(rng, 60, catalog)
    ]
    insert(engine, catalog, people)
    yield app, new_key(engine)
    schemathesis_asgi.shutdown_lifespans()


def with_questionnaire(case: schemathesis.Case) -> schemathesis.Case:
    """Most generated cases name the real questionnaire, so the export itself is produced."""
    query = dict(case.query or {})
    if query.get("questionnaire_id") != QUESTIONNAIRE and zlib.crc32(str(query).encode()) % 4:
        query["questionnaire_id"] = QUESTIONNAIRE
    case.query = query
    return case


@pytest.mark.parametrize("operation", OPERATIONS)
def test_research_operations_keep_their_contract(
    operation: str, application: tuple[FastAPI, str]
) -> None:
    app, key = application
    endpoint = schema[f"/api/v1/research/{operation}"]["GET"]
    strategy = st.one_of(
        endpoint.as_strategy(schemathesis.GenerationMode.POSITIVE),
        endpoint.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    ).map(with_questionnaire)
    statuses: set[int] = set()

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            checks=CHECKS, app=app, headers={"Authorization": f"Bearer {key}"}
        )
        statuses.add(response.status_code)

    run()
    assert 200 in statuses, f"no generated case produced an export: {statuses}"
