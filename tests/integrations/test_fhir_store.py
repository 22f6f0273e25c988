"""Storing a FHIR QuestionnaireResponse with ``?store=true``: a submitted response made as
``POST /responses`` with ``"submit": true`` makes it, read back as FHIR in R4 and R5, scored
identically; nothing stored from a refused request, and the crisis notice on every answer."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select
from study_registry import register
from test_integration_fhir import (
    API,
    FHIR_QR,
    ITEMS,
    QUESTIONNAIRE,
    bundle_result,
    crisis,
    errors,
    fhir_questionnaire,
    outcome_of,
    response_from_options,
    valid,
)

from app.config import Settings
from app.main import create_app
from app.models import ResponseSession
from scoring.catalog import Catalog

STORE = {"store": "true"}
ANSWERS = {**{item: (n * 5 % 7) + 1 for n, item in enumerate(ITEMS)}, "wb_overwhelmed": 1}
RISKY = {**dict.fromkeys(ITEMS, 4), "wb_now": 1}


def stored_count(client: TestClient) -> int:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return int(session.exec(select(func.count()).select_from(ResponseSession)).one())


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def receipt(bundle: dict[str, Any]) -> dict[str, Any]:
    (parameters,) = resources(bundle, "Parameters")
    return {
        p["name"]: next(v for k, v in p.items() if k.startswith("value"))
        for p in parameters["parameter"]
    }


def qr(client: TestClient, answers: dict[str, int], version: str = "4.0") -> dict[str, Any]:
    return response_from_options(fhir_questionnaire(client, version), answers)


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_a_stored_response_is_the_one_post_responses_would_make(
    client: TestClient, version: str
) -> None:
    resource = qr(client, ANSWERS, version)
    params = {**STORE, "fhirVersion": version}

    stored = client.post(FHIR_QR, json=resource, params=params)
    stateless = client.post(FHIR_QR, json=resource, params={"fhirVersion": version})
    by_json = client.post(
        f"{API}/responses",
        json={"questionnaire_id": QUESTIONNAIRE, "answers": ANSWERS, "submit": True},
    ).json()

    assert stored.status_code == 201, stored.text
    assert stored.headers["content-type"] == f"application/fhir+json; fhirVersion={version}"
    assert stored.headers["cache-control"] == "no-store"
    bundle = valid(stored.json(), version)
    got = receipt(bundle)
    response_id, token = got["response_id"], got["token"]
    location = f"http://testserver{API}/responses/{response_id}/fhir"
    assert stored.headers["location"] == got["location"] == location
    auth = {"Authorization": f"Bearer {token}"}
    view = client.get(f"{API}/responses/{response_id}", headers=auth).json()
    assert view["status"] == "submitted"
    assert view["answers"] == ANSWERS
    assert (view["study"], view["consent"]) == (None, {"research": False})
    # The result is the one the JSON API stores for the same answers, and the one /score gives.
    result = bundle_result(bundle)
    assert result == view["result"]
    assert (
        result["scores"] == by_json["result"]["scores"] == bundle_result(stateless.json())["scores"]
    )
    assert result["primary_tendency"] == by_json["result"]["primary_tendency"]
    assert result == bundle_result(stateless.json())

    # The stored response in the Bundle is what GET .../fhir reads, and it validates.
    read = client.get(location, headers=auth, params={"fhirVersion": version})
    assert read.status_code == 200
    (inline,) = resources(bundle, "QuestionnaireResponse")
    assert valid(read.json(), version) == valid(inline, version)
    assert read.json()["status"] == "completed"
    # ... and posted back, it scores exactly as the original did.
    rescored = client.post(FHIR_QR, json=read.json(), params={"fhirVersion": version})
    assert bundle_result(valid(rescored.json(), version)) == result


def test_without_store_nothing_is_stored_and_the_token_opens_only_its_own(
    client: TestClient,
) -> None:
    resource = qr(client, ANSWERS)

    for flag in (None, "false", "FALSE"):
        scored = client.post(FHIR_QR, json=resource, params={"store": flag} if flag else {})
        assert scored.status_code == 200
        assert "location" not in scored.headers
        assert resources(scored.json(), "Parameters") == []
    assert stored_count(client) == 0

    first = receipt(client.post(FHIR_QR, json=resource, params=STORE).json())
    second = receipt(client.post(FHIR_QR, json=resource, params=STORE).json())
    assert first["response_id"] != second["response_id"]
    assert stored_count(client) == 2
    crossed = client.get(second["location"], headers={"Authorization": f"Bearer {first['token']}"})
    assert errors(outcome_of(crossed, 404))[0]["code"] == "not-found"


def test_a_retry_with_the_same_idempotency_key_stores_nothing_twice(client: TestClient) -> None:
    resource = qr(client, ANSWERS)
    key = {"Idempotency-Key": "fhir-retry-0123456789abcdef"}

    first = client.post(FHIR_QR, json=resource, params=STORE, headers=key)
    again = client.post(FHIR_QR, json=resource, params=STORE, headers=key)
    other = copy.deepcopy(resource)
    other["item"][0]["item"][0]["answer"][0]["valueCoding"]["code"] = "7"  # anx01 was 1
    reused = client.post(FHIR_QR, json=other, params=STORE, headers=key)
    short = client.post(FHIR_QR, json=resource, params=STORE, headers={"Idempotency-Key": "x"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert receipt(first.json()) == receipt(again.json())
    assert again.headers["location"] == first.headers["location"]
    assert bundle_result(again.json()) == bundle_result(first.json())
    assert errors(outcome_of(reused, 422))[0]["expression"] == ["Idempotency-Key"]
    assert errors(outcome_of(short, 422))[0]["expression"] == ["Idempotency-Key"]
    assert stored_count(client) == 1


def test_a_study_enrolment_code_and_research_consent_are_taken_as_post_responses_takes_them(
    client: TestClient,
) -> None:
    enrolment = register(client.app.state.engine, "fhir-pilot")  # type: ignore[attr-defined]
    resource = qr(client, ANSWERS)

    enrolled = client.post(
        FHIR_QR,
        json=resource,
        params={**STORE, "study": enrolment, "researchConsent": "true"},
    )
    public_code = client.post(FHIR_QR, json=resource, params={**STORE, "study": "fhir-pilot"})
    malformed = client.post(FHIR_QR, json=resource, params={**STORE, "study": "no spaces"})
    bad_flag = client.post(FHIR_QR, json=resource, params={**STORE, "researchConsent": "yes"})

    assert enrolled.status_code == 201, enrolled.text
    got = receipt(enrolled.json())
    view = client.get(
        f"{API}/responses/{got['response_id']}",
        headers={"Authorization": f"Bearer {got['token']}"},
    ).json()
    assert (view["study"], view["consent"]) == ("fhir-pilot", {"research": True})
    # The public code does not enrol, as in POST /responses.
    assert errors(outcome_of(public_code, 422))[0]["expression"] == ["study"]
    assert errors(outcome_of(malformed, 422))[0]["expression"] == ["study"]
    assert errors(outcome_of(bad_flag, 422))[0]["expression"] == ["researchConsent"]
    assert stored_count(client) == 1


def test_a_refused_response_stores_nothing_and_keeps_the_crisis_notice(
    client: TestClient,
) -> None:
    risky = qr(client, RISKY)
    off_scale = copy.deepcopy(risky)
    off_scale["item"][0]["item"][1]["answer"][0]["valueCoding"]["code"] = "8"  # avo01
    unfinished = {**risky, "status": "in-progress"}
    too_few = qr(client, {"anx01": 2, "avo01": 3, "wb_now": 1})

    refused = client.post(FHIR_QR, json=off_scale, params=STORE)
    not_final = client.post(FHIR_QR, json=unfinished, params=STORE)
    short = client.post(FHIR_QR, json=too_few, params=STORE)
    stored = client.post(FHIR_QR, json=risky, params={**STORE, "country": "GB"})

    assert errors(outcome_of(refused, 422))[0]["expression"] == [
        "QuestionnaireResponse.item.where(linkId='attachment').item.where(linkId='avo01')"
    ]
    assert errors(outcome_of(not_final, 422))[0]["expression"] == ["QuestionnaireResponse.status"]
    short_errors = errors(outcome_of(short, 422))
    assert short_errors[0]["expression"] == ["QuestionnaireResponse.item"]
    assert "needed to submit" in short_errors[0]["diagnostics"]
    for answer in (refused, not_final, short):
        assert crisis(answer.json())["level"] == "acute"  # type: ignore[index]
    assert stored_count(client) == 1
    assert stored.status_code == 201
    warning = resources(valid(stored.json(), "4.0"), "OperationOutcome")[0]
    notice = crisis(warning)
    assert notice is not None
    assert (notice["level"], notice["resources"][0]["country"]) == ("acute", "GB")
    got = receipt(stored.json())
    view = client.get(
        f"{API}/responses/{got['response_id']}",
        headers={"Authorization": f"Bearer {got['token']}"},
    ).json()
    assert view["crisis"]["level"] == "acute"


def malformed(client: TestClient, version: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Malformed QuestionnaireResponses, each with the expression its first error names."""
    questionnaire = fhir_questionnaire(client, version)
    good = response_from_options(questionnaire, RISKY)
    attachment = "QuestionnaireResponse.item.where(linkId='attachment')"
    outside = copy.deepcopy(good)
    outside["item"][0]["item"][2]["answer"][0]["valueCoding"]["code"] = "0"  # dis01
    foreign = copy.deepcopy(good)
    foreign["item"][0]["item"][2]["answer"][0]["valueCoding"] = {
        "system": "http://loinc.org",
        "code": "3",
    }
    duplicated = copy.deepcopy(good)
    duplicated["item"][0]["item"].append(copy.deepcopy(duplicated["item"][0]["item"][0]))
    unknown_item = copy.deepcopy(good)
    unknown_item["item"][0]["item"].append(
        {"linkId": "xyz99", "answer": [{"valueCoding": {"code": "3"}}]}
    )
    return {
        "wrong resourceType": (
            {**good, "resourceType": "Questionnaire"},
            "QuestionnaireResponse.resourceType",
        ),
        "unknown questionnaire url": (
            {**good, "questionnaire": "https://ehr.example/fhir/Questionnaire/phq-9"},
            "QuestionnaireResponse.questionnaire",
        ),
        "answer outside answerOption": (outside, f"{attachment}.item.where(linkId='dis01')"),
        "coding from another system": (foreign, f"{attachment}.item.where(linkId='dis01')"),
        "duplicate linkId": (duplicated, f"{attachment}.item.where(linkId='anx01')"),
        "item the questionnaire lacks": (unknown_item, f"{attachment}.item.where(linkId='xyz99')"),
    }


@pytest.mark.parametrize("version", ["4.0", "5.0"])
@pytest.mark.parametrize("store", [None, "true"], ids=["stateless", "store"])
def test_malformed_fhir_is_refused_by_item_with_the_notice_and_nothing_stored(
    client: TestClient, version: str, store: str | None
) -> None:
    params = {"fhirVersion": version, **({"store": store} if store else {})}
    for kind, (resource, expression) in malformed(client, version).items():
        refused = client.post(FHIR_QR, json=resource, params=params)

        assert refused.status_code in (404, 422), (kind, refused.text)
        outcome = outcome_of(refused, refused.status_code, version)
        assert errors(outcome)[0]["expression"] == [expression], kind
        assert crisis(outcome)["level"] == "acute", kind  # type: ignore[index]
    assert stored_count(client) == 0


@pytest.mark.parametrize("store", [None, "true"], ids=["stateless", "store"])
def test_an_unoffered_release_in_the_media_type_is_refused_as_an_outcome(
    client: TestClient, store: str | None
) -> None:
    resource = qr(client, RISKY)
    body = json.dumps(resource)
    params = {"store": store} if store else {}

    by_content_type = client.post(
        FHIR_QR,
        content=body,
        params={**params, "country": "GB"},
        headers={"Content-Type": "application/fhir+json; fhirVersion=3.0"},
    )
    by_accept = client.post(
        FHIR_QR,
        content=body,
        params=params,
        headers={
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json; fhirVersion=6.0",
        },
    )
    bad_flag = client.post(FHIR_QR, json=resource, params={"store": "maybe"})

    for refused, expression in (
        (by_content_type, "fhirVersion"),
        (by_accept, "fhirVersion"),
        (bad_flag, "store"),
    ):
        outcome = outcome_of(refused, 422)
        assert errors(outcome)[0]["expression"] == [expression]
        assert crisis(outcome)["level"] == "acute"  # type: ignore[index]
    # The resources of the notice are those of the country asked for.
    assert crisis(by_content_type.json())["resources"][0]["country"] == "GB"  # type: ignore[index]
    assert stored_count(client) == 0


def test_the_openapi_document_explains_how_to_store(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/fhir/QuestionnaireResponse"][
        "post"
    ]
    parameters = {p["name"].lower(): p for p in operation["parameters"]}
    example = operation["requestBody"]["content"]["application/fhir+json"]["examples"]["stored"]

    assert {"store", "study", "researchconsent", "idempotency-key"} <= set(parameters)
    assert "POST /responses" in parameters["store"]["description"]
    assert "Location" in operation["responses"]["201"]["headers"]
    assert "503" in operation["responses"]
    assert "Location" in operation["description"]
    stored = client.post(FHIR_QR, json=example["value"], params=STORE)
    assert stored.status_code == 201, stored.text
    assert receipt(stored.json())["location"] == stored.headers["location"]


def test_a_store_the_database_cannot_take_is_a_fhir_answer_with_the_notice(
    catalog: Catalog,
) -> None:
    # Nothing listens on port 1: every connection is refused at once.
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app = create_app(Settings(environment="test", database_url=unreachable), catalog)
    with TestClient(app) as client:
        resource = qr(client, RISKY)
        scored = client.post(FHIR_QR, json=resource)
        refused = client.post(FHIR_QR, json=resource, params=STORE)

    assert scored.status_code == 200  # scoring alone never needs the database
    outcome = outcome_of(refused, 503)
    assert errors(outcome)[0]["code"] == "transient"
    assert refused.headers["retry-after"].isdigit()
    assert crisis(outcome)["level"] == "acute"  # type: ignore[index]
