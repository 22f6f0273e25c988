"""HL7 FHIR R4 and R5: every resource produced parses with fhir.resources, a Questionnaire's
own answer options round-trip to the same result as /score, and every error is an
OperationOutcome naming the item, with the crisis notice when the answers call for it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.operationoutcome import OperationOutcome as OperationOutcomeR5
from fhir.resources.questionnaire import Questionnaire as QuestionnaireR5
from fhir.resources.questionnaireresponse import QuestionnaireResponse as ResponseR5
from fhir.resources.R4B.bundle import Bundle as BundleR4
from fhir.resources.R4B.operationoutcome import OperationOutcome as OperationOutcomeR4
from fhir.resources.R4B.questionnaire import Questionnaire as QuestionnaireR4
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as ResponseR4

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

QUESTIONNAIRE = "attachment-self-reflection"
API = "/api/v1"
FHIR_QR = f"{API}/fhir/QuestionnaireResponse"
ITEMS = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]
CRISIS_EXTENSION = "urn:securebase:fhir:crisis-notice"
# R4 is checked with fhir.resources' R4B models: R4B changed none of the elements used here.
MODELS: dict[str, dict[str, Any]] = {
    "4.0": {
        "Questionnaire": QuestionnaireR4,
        "QuestionnaireResponse": ResponseR4,
        "Bundle": BundleR4,
        "OperationOutcome": OperationOutcomeR4,
    },
    "5.0": {
        "Questionnaire": QuestionnaireR5,
        "QuestionnaireResponse": ResponseR5,
        "Bundle": BundleR5,
        "OperationOutcome": OperationOutcomeR5,
    },
}
WEIGHT = {
    "4.0": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "5.0": "http://hl7.org/fhir/StructureDefinition/itemWeight",
}


def valid(resource: dict[str, Any], version: str) -> dict[str, Any]:
    """The resource, after fhir.resources has parsed it as its type in that release."""
    MODELS[version][resource["resourceType"]].model_validate(resource)
    return resource


@pytest.fixture(scope="module")
def stateless() -> Iterator[TestClient]:
    app = create_app(Settings(environment="test", database_url="sqlite://"), Catalog.load())
    with TestClient(app) as client:
        yield client


def fhir_questionnaire(client: TestClient, version: str) -> dict[str, Any]:
    response = client.get(
        f"{API}/questionnaires/{QUESTIONNAIRE}/fhir", params={"fhirVersion": version}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == f"application/fhir+json; fhirVersion={version}"
    return valid(response.json(), version)


def response_from_options(questionnaire: dict[str, Any], answers: dict[str, int]) -> dict[str, Any]:
    """A QuestionnaireResponse as a form filler builds it: for each answer, the answerOption of
    the Questionnaire whose ordinal weight is that answer."""

    def answered(item: dict[str, Any]) -> dict[str, Any] | None:
        if item["type"] == "group":
            children = [a for a in (answered(child) for child in item["item"]) if a]
            return {"linkId": item["linkId"], "item": children} if children else None
        if item["linkId"] not in answers:
            return None
        option = next(
            o
            for o in item["answerOption"]
            if o["extension"][0]["valueDecimal"] == answers[item["linkId"]]
        )
        return {"linkId": item["linkId"], "answer": [{"valueCoding": option["valueCoding"]}]}

    groups = [g for g in (answered(item) for item in questionnaire["item"]) if g]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "status": "completed",
        "item": groups,
    }


def bundle_result(bundle: dict[str, Any]) -> dict[str, Any]:
    binary = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Binary"
    )
    result: dict[str, Any] = json.loads(base64.b64decode(binary["data"]))
    return result


def observations(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["resource"]["code"]["coding"][0]["code"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_the_questionnaire_as_fhir(stateless: TestClient, version: str) -> None:
    questionnaire = fhir_questionnaire(stateless, version)
    listed = stateless.get(f"{API}/questionnaires").json()
    content_hash = next(q["hash"] for q in listed if q["id"] == QUESTIONNAIRE)

    attachment, wellbeing = questionnaire["item"]
    assert questionnaire["url"].endswith(f"/questionnaires/{QUESTIONNAIRE}/fhir")
    assert questionnaire["version"] == f"1.0.1+{content_hash}"
    assert (attachment["required"], wellbeing["required"]) == (True, False)
    assert [i["linkId"] for i in attachment["item"]][:3] == ["anx01", "avo01", "dis01"]
    first = attachment["item"][0]
    assert first["type"] == ("choice" if version == "4.0" else "coding")
    assert [o["valueCoding"]["code"] for o in first["answerOption"]] == [
        str(n) for n in range(1, 8)
    ]
    assert first["answerOption"][0]["valueCoding"]["display"] == "Strongly disagree"
    assert {o["extension"][0]["url"] for o in first["answerOption"]} == {WEIGHT[version]}
    assert "wb_now" in [i["linkId"] for i in wellbeing["item"]]


def test_the_release_is_chosen_by_parameter_or_media_type(stateless: TestClient) -> None:
    path = f"{API}/questionnaires/{QUESTIONNAIRE}/fhir"
    by_default = stateless.get(path)
    by_accept = stateless.get(path, headers={"Accept": "application/fhir+json; fhirVersion=5.0"})
    unknown = stateless.get(path, params={"fhirVersion": "3.0"})

    assert by_default.headers["content-type"].endswith("fhirVersion=4.0")
    assert by_accept.headers["content-type"].endswith("fhirVersion=5.0")
    assert by_accept.json()["item"][0]["item"][0]["type"] == "coding"
    assert unknown.status_code == 422
    outcome = valid(unknown.json(), "4.0")
    assert outcome["issue"][0]["expression"] == ["fhirVersion"]


@pytest.mark.parametrize("version", ["4.0", "5.0"])
@pytest.mark.parametrize(
    "answers",
    [
        dict.fromkeys(ITEMS, 4),
        {**dict.fromkeys(ITEMS, 2), "anx01": 7, "anx02": 7, "anx04": 7, "anx05": 7, "anx06": 7},
        {**{item: (n % 7) + 1 for n, item in enumerate(ITEMS)}, "wb_life": 1, "wb_now": 0},
        {"anx01": 3, "avo01": 5},
    ],
    ids=["neutral", "anxious", "with-risk", "too-few"],
)
def test_a_response_from_its_own_options_scores_as_score_does(
    stateless: TestClient, version: str, answers: dict[str, int]
) -> None:
    questionnaire = fhir_questionnaire(stateless, version)
    resource = valid(response_from_options(questionnaire, answers), version)

    scored = stateless.post(FHIR_QR, json=resource, params={"fhirVersion": version})
    direct = stateless.post(
        f"{API}/questionnaires/{QUESTIONNAIRE}/score", json={"answers": answers}
    )

    assert scored.status_code == 200, scored.text
    bundle = valid(scored.json(), version)
    result = bundle_result(bundle)
    assert result == direct.json()
    by_code = observations(bundle)
    for dimension, score in result["scores"].items():
        if score["mean"] is None:
            assert "valueQuantity" not in by_code[dimension]
        else:
            assert by_code[dimension]["valueQuantity"]["value"] == score["mean"]
            assert by_code[dimension]["interpretation"][0]["coding"][0]["code"] == score["band"]
    primary = by_code["primary-tendency"].get("valueCodeableConcept", {}).get("coding", [{}])
    assert primary[0].get("code") == result["primary_tendency"]
    outcomes = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "OperationOutcome"
    ]
    if result["crisis"] is None:
        assert outcomes == []
    else:
        issue = outcomes[0]["issue"][0]
        assert issue["severity"] == "warning"
        assert issue["diagnostics"] == result["crisis"]["message"]
        assert json.loads(issue["extension"][0]["valueString"]) == result["crisis"]


def outcome_of(response: Any, status: int, version: str = "4.0") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return valid(response.json(), version)


def errors(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in outcome["issue"] if i["severity"] == "error"]


def crisis(outcome: dict[str, Any]) -> dict[str, Any] | None:
    for issue in outcome["issue"]:
        if issue["severity"] == "warning" and issue.get("extension"):
            assert issue["extension"][0]["url"] == CRISIS_EXTENSION
            notice: dict[str, Any] = json.loads(issue["extension"][0]["valueString"])
            assert issue["diagnostics"] == notice["message"]
            return notice
    return None


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_malformed_fhir_gets_an_operation_outcome_naming_the_item(
    stateless: TestClient, version: str
) -> None:
    questionnaire = fhir_questionnaire(stateless, version)
    good = response_from_options(questionnaire, dict.fromkeys(ITEMS, 4))
    off_scale = json.loads(json.dumps(good))
    off_scale["item"][0]["item"][4]["answer"][0]["valueCoding"]["code"] = "9"  # avo02
    twice = json.loads(json.dumps(good))
    twice["item"][0]["item"][0]["answer"].append(twice["item"][0]["item"][0]["answer"][0])
    params = {"fhirVersion": version}

    not_json = stateless.post(FHIR_QR, content=b"{", params=params)
    wrong_type = stateless.post(FHIR_QR, json={**good, "resourceType": "Patient"}, params=params)
    unknown = stateless.post(
        FHIR_QR,
        json={**good, "questionnaire": "https://elsewhere.example/Questionnaire/x"},
        params=params,
    )
    old = stateless.post(
        FHIR_QR,
        json={**good, "questionnaire": questionnaire["url"] + "|0.9.0+sha256:00"},
        params=params,
    )
    no_status = stateless.post(
        FHIR_QR, json={k: v for k, v in good.items() if k != "status"}, params=params
    )

    assert errors(outcome_of(not_json, 422, version))[0]["code"] == "structure"
    assert errors(outcome_of(wrong_type, 422, version))[0]["expression"] == [
        "QuestionnaireResponse.resourceType"
    ]
    assert errors(outcome_of(unknown, 404, version))[0]["expression"] == [
        "QuestionnaireResponse.questionnaire"
    ]
    assert errors(outcome_of(old, 409, version))[0]["code"] == "business-rule"
    assert errors(outcome_of(no_status, 422, version))[0]["expression"] == [
        "QuestionnaireResponse.status"
    ]
    off = errors(outcome_of(stateless.post(FHIR_QR, json=off_scale, params=params), 422, version))
    assert off[0]["expression"] == [
        "QuestionnaireResponse.item.where(linkId='attachment').item.where(linkId='avo02')"
    ]
    assert "off the scale" in off[0]["diagnostics"]
    both = errors(outcome_of(stateless.post(FHIR_QR, json=twice, params=params), 422, version))
    assert "anx01" in both[0]["expression"][0]


def test_every_error_still_carries_the_crisis_notice(stateless: TestClient) -> None:
    questionnaire = fhir_questionnaire(stateless, "4.0")
    risky = response_from_options(questionnaire, {"anx01": 9 - 5, "wb_now": 1})
    risky["item"][0]["item"][0]["answer"][0]["valueCoding"]["code"] = "nine"  # refused

    refused = stateless.post(FHIR_QR, json=risky, params={"country": "GB"})
    wrong_type = stateless.post(FHIR_QR, json={**risky, "resourceType": "Observation"})
    unknown = stateless.post(FHIR_QR, json={**risky, "questionnaire": "urn:x"})
    no_status = stateless.post(FHIR_QR, json={k: v for k, v in risky.items() if k != "status"})

    for response, status in ((refused, 422), (wrong_type, 422), (unknown, 404), (no_status, 422)):
        notice = crisis(outcome_of(response, status))
        assert notice is not None
        assert notice["level"] == "acute"
    assert "anx01" in errors(refused.json())[0]["expression"][0]
    assert crisis(refused.json())["resources"][0]["country"] == "GB"  # type: ignore[index]


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_a_stored_response_read_as_fhir_scores_identically(
    client: TestClient, version: str
) -> None:
    answers = {**{item: (n * 3 % 7) + 1 for n, item in enumerate(ITEMS)}, "wb_overwhelmed": 2}
    created = client.post(
        f"{API}/responses",
        json={"questionnaire_id": QUESTIONNAIRE, "answers": answers, "submit": True},
    ).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    stored = client.get(f"{API}/responses/{created['response_id']}", headers=auth).json()

    read = client.get(
        f"{API}/responses/{created['response_id']}/fhir",
        headers=auth,
        params={"fhirVersion": version},
    )
    wrong_token = client.get(
        f"{API}/responses/{created['response_id']}/fhir", headers={"Authorization": "Bearer x"}
    )

    assert read.status_code == 200
    assert read.headers["cache-control"] == "no-store"
    resource = valid(read.json(), version)
    assert resource["status"] == "completed"
    rescored = client.post(FHIR_QR, json=resource, params={"fhirVersion": version})
    assert rescored.status_code == 200, rescored.text
    result = bundle_result(valid(rescored.json(), version))
    assert result["scores"] == stored["result"]["scores"]
    assert result["primary_tendency"] == stored["result"]["primary_tendency"]
    assert result["questionnaire"] == stored["questionnaire"]
    assert result["crisis"]["level"] == stored["crisis"]["level"] == "support"
    assert errors(outcome_of(wrong_token, 404))[0]["code"] == "not-found"


def test_unreadable_values_and_deep_nesting_get_an_outcome_not_a_500(
    stateless: TestClient,
) -> None:
    questionnaire = fhir_questionnaire(stateless, "4.0")
    canonical = f"{questionnaire['url']}|{questionnaire['version']}"
    huge = (
        '{"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "'
        + canonical
        + '", "item": [{"linkId": "anx01", "answer": [{"valueInteger": '
        + "7" * 5000
        + '}]}, {"linkId": "wb_life", "answer": [{"valueInteger": 3}]}]}'
    )
    nested: dict[str, Any] = {"linkId": "wb_now", "answer": [{"valueInteger": 1}]}
    for depth in range(300):
        nested = {"linkId": f"g{depth}", "item": [nested]}
    deep = {**response_from_options(questionnaire, {}), "item": [nested]}

    refused = stateless.post(FHIR_QR, content=huge)
    deeply = stateless.post(FHIR_QR, json=deep)

    assert errors(outcome_of(refused, 422))[0]["expression"] == [
        "QuestionnaireResponse.item.where(linkId='anx01')"
    ]
    assert crisis(refused.json())["level"] == "urgent"  # type: ignore[index]
    # Groups may nest: the answer 300 groups down is read, scored and screened.
    assert deeply.status_code == 200
    warning = valid(deeply.json(), "4.0")["entry"][0]["resource"]
    assert crisis(warning)["level"] == "acute"  # type: ignore[index]


def test_the_documented_example_is_scored(stateless: TestClient) -> None:
    operation = stateless.get("/openapi.json").json()["paths"][
        "/api/v1/fhir/QuestionnaireResponse"
    ]["post"]
    example = operation["requestBody"]["content"]["application/fhir+json"]["examples"]["answers"]

    scored = stateless.post(FHIR_QR, json=example["value"])

    assert scored.status_code == 200, scored.text
    assert observations(valid(scored.json(), "4.0"))["anxiety"]["dataAbsentReason"]


def test_an_unreadable_fhir_body_still_carries_the_notice_its_risk_answer_calls_for(
    stateless: TestClient,
) -> None:
    # Nested far deeper than any reader accepts, so the route cannot parse it; the risk edge
    # has read "wb_now" answered 1 (yes) beside its linkId all the same.
    buried = '{"item":[' * 3000 + "]}" * 3000
    body = (
        '{"resourceType": "QuestionnaireResponse", "item": ['
        '{"linkId": "wb_now", "answer": [{"valueInteger": 1}]}, ' + buried + "]}"
    )

    refused = stateless.post(FHIR_QR, content=body)

    outcome = outcome_of(refused, 422)
    assert errors(outcome)
    assert crisis(outcome)["level"] == "acute"  # type: ignore[index]
