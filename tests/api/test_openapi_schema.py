"""The API keeps its own OpenAPI contract, checked by schemathesis over every operation.

Checks on every response: no server error, a documented status code, a documented media type,
a body that matches the schema documented for it, and (our own check) a problem+json body that
matches the ``Problem`` component, because the document declares
``application/problem+json`` without a schema, so schemathesis alone would not look at it.

How it runs on both backends: ``schemathesis.pytest.from_fixture`` (a schema from a fixture)
cannot be used, its lazy runner renames the pytest item through ``Function._nodeid``, which
pytest 9 no longer has (``AttributeError: 'Function' object has no attribute '_nodeid'``).
So the schema is read at import from an app built by the same ``create_app`` (building it
touches no database), every operation becomes a pytest item, and each generated request is
sent with ``app=`` to the app of the ``client`` fixture: the random run goes through the
backend parametrisation of ``database_url`` like any other API test. A test below checks that
the served document is the one fuzzed.

Without an id and a token, every ``/responses/{response_id}`` operation ends in 404. So the
second half creates responses through the API and sends generated requests (schemathesis'
positive and negative data, and realistic answers) to them with a valid Bearer token.

Bounded for CI: derandomised, at most ``MAX_EXAMPLES`` generated cases per operation and step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs  # installed with schemathesis, which validates with it too
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python import asgi as schemathesis_asgi

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

MAX_EXAMPLES = 50
QUESTIONNAIRE_ID = "attachment-self-reflection"
PROBLEM = "application/problem+json"
FHIR_JSON = "application/fhir+json"
RESPONSE_PATHS = "/api/v1/responses/{response_id}"

HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        # One database per test, shared by the examples of an operation: on purpose, the
        # examples only add rows, and a fresh database per example would cost seconds.
        HealthCheck.function_scoped_fixture,
        # Generated bodies for strict models are large and often filtered; neither is a bug.
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

DOCUMENT: dict[str, Any] = create_app(
    Settings(environment="test", database_url="sqlite://"), Catalog.load()
).openapi()


# Unsanitised output: the curl command of a failure must reproduce it, header values included.
CONFIG = schemathesis.Config.from_dict({"output": {"sanitization": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

_problem_schema = jsonschema_rs.validator_for(
    {"$ref": "#/components/schemas/Problem", "components": DOCUMENT["components"]}
)


def problem_body_conformance(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A problem+json body is an RFC 9457 problem as the ``Problem`` component describes it."""
    content_type = response.headers.get("content-type", [""])[0]
    if content_type.split(";")[0].strip() != PROBLEM:
        return
    body = response.json()
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in _problem_schema.iter_errors(body)
    ]
    assert not errors, f"problem body does not match #/components/schemas/Problem: {errors}"
    assert body["status"] == response.status_code, "problem status differs from the HTTP status"


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    problem_body_conformance,
]


@pytest.fixture
def application(client: TestClient) -> Iterator[FastAPI]:
    """The app of ``client`` (a migrated database on the current backend)."""
    app = client.app
    assert isinstance(app, FastAPI)
    yield app
    # schemathesis starts the app's lifespan on the first request and keeps it until exit.
    schemathesis_asgi.shutdown_lifespans()


def test_the_served_document_is_the_one_under_test(client: TestClient) -> None:
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == DOCUMENT


def test_every_error_response_is_documented_as_problem_json() -> None:
    """Each 4xx/5xx is documented as ``application/problem+json`` with the Problem schema,
    which is what the error handlers send (and nothing as ``application/json``)."""
    wrong = []
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")):
                    continue
                content = response.get("content", {})
                if "fhir" in operation.get("tags", []) and set(content) == {FHIR_JSON}:
                    continue  # FHIR answers its errors as OperationOutcome, as FHIR clients expect
                declared = content.get(PROBLEM, {}).get("schema")
                only_problem = set(content) == {PROBLEM}
                if declared != {"$ref": "#/components/schemas/Problem"} or not only_problem:
                    media = {name: value.get("schema") for name, value in content.items()}
                    wrong.append(f"{method.upper()} {path} {status}: {media}")
    assert not wrong, "error responses not documented as problem+json with a schema:\n" + "\n".join(
        wrong
    )


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_keeps_its_contract(case: schemathesis.Case, application: FastAPI) -> None:
    case.call_and_validate(checks=CHECKS, app=application)


# --- Generated requests against real responses, with a valid token -----------------------


def run_examples(strategy: st.SearchStrategy[schemathesis.Case], send: Callable[..., Any]) -> None:
    @given(case=strategy)
    @HYPOTHESIS
    def examples(case: schemathesis.Case) -> None:
        send(case)

    examples()


@st.composite
def answer_sets(draw: st.DrawFn, view: dict[str, Any]) -> dict[str, int]:
    """Answers to real items on their scale, and now and then one a point off it."""
    items = view["items"] + view["wellbeing_items"]
    chosen = draw(st.lists(st.sampled_from(items), unique_by=lambda item: item["id"]))
    answers = {}
    for item in chosen:
        scale = view["scales"][item["scale"]]
        answers[item["id"]] = draw(st.integers(scale["min"], scale["max"]))
    if chosen and draw(st.integers(0, 4)) == 0:
        item = draw(st.sampled_from(chosen))
        scale = view["scales"][item["scale"]]
        answers[item["id"]] = draw(st.sampled_from([scale["min"] - 1, scale["max"] + 1]))
    return answers


def realistic_bodies(view: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"answers": answer_sets(view)},
        optional={
            "lang": st.sampled_from(["en", "de", "xyz"]),
            "country": st.sampled_from(["DE", "us", "GB", "ZZ"]),
        },
    )


class Api:
    """Sends schemathesis cases to the app and validates every response."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def send(
        self, case: schemathesis.Case, token: str | None = None, expected: int | None = None
    ) -> schemathesis.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = case.call_and_validate(checks=CHECKS, app=self.app, headers=headers)
        if expected is not None:
            assert response.status_code == expected, response.text
        return response

    def create(self, body: dict[str, Any]) -> tuple[str, str]:
        case = schema["/api/v1/responses"]["POST"].Case(body=body, media_type="application/json")
        created = self.send(case, expected=201).json()
        return created["response_id"], created["token"]


@pytest.fixture
def questionnaire(client: TestClient) -> dict[str, Any]:
    view = client.get(f"/api/v1/questionnaires/{QUESTIONNAIRE_ID}")
    assert view.status_code == 200
    data: dict[str, Any] = view.json()
    return data


OPERATIONS = {
    "save": ("PUT", RESPONSE_PATHS + "/answers"),
    "read": ("GET", RESPONSE_PATHS),
    "submit": ("POST", RESPONSE_PATHS + "/submit"),
}


def start(api: Api, questionnaire: dict[str, Any], state: str) -> tuple[str, str]:
    """A response with no answers, with every answer (unsubmitted), or submitted."""
    if state == "empty":
        return api.create({"questionnaire_id": QUESTIONNAIRE_ID})
    # The highest point on every item, wellbeing included, so the crisis notice is part of
    # every answer about it.
    complete = {
        item["id"]: questionnaire["scales"][item["scale"]]["max"]
        for item in questionnaire["items"] + questionnaire["wellbeing_items"]
    }
    return api.create(
        {"questionnaire_id": QUESTIONNAIRE_ID, "answers": complete, "submit": state == "submitted"}
    )


@pytest.mark.parametrize("state", ["empty", "complete", "submitted"])
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_generated_requests_with_a_valid_token(
    application: FastAPI, questionnaire: dict[str, Any], name: str, state: str
) -> None:
    """schemathesis' positive and negative cases (and, to save, realistic answers) for one
    operation on a real response, sent with its token."""
    api = Api(application)
    response_id, token = start(api, questionnaire, state)
    method, path = OPERATIONS[name]
    operation = schema[path][method]
    fixed = {"response_id": response_id}
    strategies = [
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=fixed),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE, path_parameters=fixed),
    ]
    if name == "save":
        strategies.append(
            realistic_bodies(questionnaire).map(
                lambda body: operation.Case(
                    path_parameters=fixed, body=body, media_type="application/json"
                )
            )
        )
    run_examples(st.one_of(*strategies), lambda case: api.send(case, token))


@pytest.mark.parametrize("state", ["empty", "submitted"])
def test_erase_with_a_valid_token(
    application: FastAPI, questionnaire: dict[str, Any], state: str
) -> None:
    api = Api(application)
    response_id, token = start(api, questionnaire, state)
    fixed = {"response_id": response_id}
    erase = schema[RESPONSE_PATHS]["DELETE"].Case(path_parameters=fixed)
    read = schema[RESPONSE_PATHS]["GET"].Case(path_parameters=fixed)

    api.send(erase, token, expected=204)
    api.send(read, token, expected=404)
    api.send(erase, token, expected=404)
