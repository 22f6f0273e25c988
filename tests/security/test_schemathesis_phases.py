"""Schemathesis over the whole API on SQLite, every phase: examples, coverage, fuzzing (each
operation, positive and negative data), and stateful (sequences that follow the OpenAPI links
from a created response to every operation on it, carrying its token).

Checks that run on every response (and only these):

* ``not_a_server_error``: no 5xx;
* ``status_code_conformance``: the status is documented for the operation;
* ``content_type_conformance``: the media type is documented;
* ``response_schema_conformance``: the body matches the documented schema;
* ``response_headers_conformance``: documented headers are present and valid;
* ``problem_body_conformance`` (ours): a problem+json body matches the ``Problem`` component
  and carries the HTTP status.

Not run: ``negative_data_rejection`` and ``positive_data_acceptance``. Cross-field rules
(``epsilon`` only with ``privacy=dp``, ``lang`` offered by the questionnaire named in the
path) make schema-valid data that the server rightly refuses, which those checks would count
as failures; the rules are in the document's descriptions and have tests of their own.

Bounded: derandomised; ``MAX_EXAMPLES`` cases per operation and phase, and ``STATEFUL_RUNS``
scenarios of at most ``STATEFUL_STEPS`` calls; about a minute on two cores.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi as schemathesis_asgi

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

MAX_EXAMPLES = 15
STATEFUL_RUNS = 30
STATEFUL_STEPS = 8
PROBLEM = "application/problem+json"
QUESTIONNAIRE = "attachment-self-reflection"
HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]

DOCUMENT: dict[str, Any] = create_app(
    Settings(environment="test", database_url="sqlite://"), Catalog.load()
).openapi()
CONFIG = schemathesis.Config.from_dict(
    {
        "output": {"sanitization": {"enabled": False}},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            # Only the document's own links: inferred ones would start every scenario at
            # GET /questionnaires and never create a response.
            "stateful": {"enabled": True, "inference": {"algorithms": []}},
        },
        "generation": {"mode": "all"},
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
_problem = jsonschema_rs.validator_for(
    {"$ref": "#/components/schemas/Problem", "components": DOCUMENT["components"]}
)


def problem_body_conformance(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    content_type = response.headers.get("content-type", [""])[0]
    if content_type.split(";")[0].strip() != PROBLEM:
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
    problem_body_conformance,
]


@pytest.fixture
def application(settings: Settings, catalog: Catalog) -> Iterator[FastAPI]:
    if not settings.is_sqlite:
        pytest.skip("the schema-driven run uses SQLite; the API tests cover PostgreSQL")
    app = create_app(settings, catalog)
    with TestClient(app):
        yield app
    schemathesis_asgi.shutdown_lifespans()
    app.state.engine.dispose()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=HEALTH,
)
def test_examples_coverage_and_fuzzing(case: schemathesis.Case, application: FastAPI) -> None:
    case.call_and_validate(checks=CHECKS, app=application)


def test_stateful_sequences_through_the_links(application: FastAPI) -> None:
    base = schema.as_state_machine()
    seen: set[tuple[str, str, int]] = set()

    class Workflow(base):  # type: ignore[misc, valid-type]
        tokens: dict[str, str]

        def setup(self) -> None:
            self.tokens = {}

        def before_call(self, case: schemathesis.Case) -> None:
            if case.path == "/api/v1/responses" and zlib.crc32(repr(case.body).encode()) % 2:
                # Half the creates are valid, so that the links have something to follow.
                case.body = {"questionnaire_id": QUESTIONNAIRE, "answers": {"anx01": 5}}
            response_id = (case.path_parameters or {}).get("response_id")
            token = self.tokens.get(str(response_id))
            if token is not None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"app": application}

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            seen.add((case.method, case.path, response.status_code))
            if response.status_code == 201 and case.path == "/api/v1/responses":
                body = response.json()
                self.tokens[body["response_id"]] = body["token"]

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_RUNS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=HEALTH,
        )
    )
    # The token was carried: operations on a created response succeeded, not just 404.
    followed = {
        (method, path)
        for method, path, status in seen
        if path.startswith("/api/v1/responses/") and status < 300
    }
    assert len(followed) >= 3, f"too few links followed with success: {sorted(seen)}"
