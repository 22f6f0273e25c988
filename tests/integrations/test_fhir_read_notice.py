"""A stored response whose answers indicate risk, read as a FHIR QuestionnaireResponse, carries
the crisis notice the JSON read carries: as the same OperationOutcome warning every other FHIR
answer uses, contained in the resource and referenced from it, and in its narrative for any
viewer; for the country asked, else the stored one. A response without risk reads unchanged."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_integration_fhir import (
    API,
    FHIR_QR,
    ITEMS,
    QUESTIONNAIRE,
    crisis,
    errors,
    fhir_questionnaire,
    outcome_of,
    response_from_options,
    valid,
)

from app.metrics import exposition

XHTML = "{http://www.w3.org/1999/xhtml}"
NOTICE_REFERENCE = "urn:securebase:fhir:crisis-notice-outcome"
# FHIR's narrative rules (txt-1): basic HTML only; these are the elements the notice may use.
NARRATIVE_ELEMENTS = {"div", "p", "ul", "li", "b", "strong"}
PLAIN_KEYS = {
    "resourceType",
    "identifier",
    "questionnaire",
    "status",
    "authored",
    "language",
    "item",
}


def notices_counted() -> float:
    text = exposition()[0].decode()
    prefix = "securebase_crisis_notices_total"
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def stored(
    client: TestClient, answers: dict[str, int], **fields: Any
) -> tuple[str, dict[str, str]]:
    created = client.post(
        f"{API}/responses",
        json={"questionnaire_id": QUESTIONNAIRE, "answers": answers, **fields},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return body["response_id"], {"Authorization": f"Bearer {body['token']}"}


def read_both(
    client: TestClient, response_id: str, auth: dict[str, str], params: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The response read as FHIR (checked as valid FHIR of the release asked) and as JSON."""
    as_fhir = client.get(f"{API}/responses/{response_id}/fhir", headers=auth, params=params)
    assert as_fhir.status_code == 200, as_fhir.text
    assert as_fhir.headers["cache-control"] == "no-store"
    as_json = client.get(
        f"{API}/responses/{response_id}",
        headers=auth,
        params={k: v for k, v in params.items() if k == "country"},
    )
    assert as_json.status_code == 200, as_json.text
    version = params.get("fhirVersion", "4.0")
    return valid(as_fhir.json(), version), as_json.json()


def references(node: object) -> list[str]:
    """Every ``reference`` anywhere in the resource (what FHIR's dom-3 rule looks at)."""
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for value in node.values() for r in references(value)]
    if isinstance(node, list):
        return [r for value in node for r in references(value)]
    return []


def contained_notice(resource: dict[str, Any]) -> dict[str, Any]:
    """The notice a FHIR client finds: the contained OperationOutcome the resource references,
    checked against FHIR's rules for contained resources and narrative."""
    (outcome,) = resource["contained"]
    assert outcome["resourceType"] == "OperationOutcome"
    # dom-3: a contained resource is referenced from elsewhere in the resource.
    assert f"#{outcome['id']}" in references(
        {k: v for k, v in resource.items() if k != "contained"}
    )
    (pointer,) = [e for e in resource["extension"] if e["url"] == NOTICE_REFERENCE]
    assert pointer["valueReference"] == {
        "reference": f"#{outcome['id']}",
        "type": "OperationOutcome",
    }
    # dom-2, dom-4, dom-5: no nested resources, no version or update time, no security label.
    assert "contained" not in outcome
    assert "meta" not in outcome
    notice = crisis(outcome)
    assert notice is not None
    (issue,) = outcome["issue"]
    assert (issue["severity"], issue["code"]) == ("warning", "informational")
    return notice


def narrative_text(resource: dict[str, Any]) -> str:
    """The narrative's words, after checking it is FHIR narrative: XHTML in a div, basic HTML
    only, with text in it (txt-1, txt-2)."""
    text = resource["text"]
    assert text["status"] == "generated"
    div = ElementTree.fromstring(text["div"])  # noqa: S314 (this service's own narrative)
    assert div.tag == f"{XHTML}div"
    for element in div.iter():
        assert element.tag.removeprefix(XHTML) in NARRATIVE_ELEMENTS, element.tag
        assert not element.attrib or element is div
    words = " ".join("".join(div.itertext()).split())
    assert words
    return words


@pytest.mark.parametrize("version", ["4.0", "5.0"])
@pytest.mark.parametrize("country", [None, "GB"])
def test_a_risky_stored_response_read_as_fhir_carries_the_notice_of_the_json_read(
    client: TestClient, version: str, country: str | None
) -> None:
    response_id, auth = stored(client, {"anx01": 3, "avo02": 5, "wb_now": 1})
    params = {"fhirVersion": version, **({"country": country} if country else {})}
    before = notices_counted()
    shown = client.get(f"{API}/responses/{response_id}/fhir", headers=auth, params=params)
    assert shown.status_code == 200
    assert notices_counted() - before == 1  # shown once, counted once

    resource, view = read_both(client, response_id, auth, params)

    assert view["crisis"]["level"] == "acute"
    notice = contained_notice(resource)
    assert notice == view["crisis"]
    if country:
        assert notice["resources"][0]["country"] == country
        # What to text, where a service needs it, is in what people read.
        (issue,) = resource["contained"][0]["issue"]
        assert "text 85258 (Text SHOUT to 85258.)" in issue["details"]["text"]
    words = narrative_text(resource)
    assert notice["message"] in words
    for help_line in notice["resources"]:
        assert help_line["name"] in words
        for contact in help_line["contacts"]:
            assert contact["value"] in words
            assert (contact["note"] or "") in words
    # The narrative is the whole response: after the notice, every answer.
    assert words.index(notice["message"]) == 0
    for group in resource["item"]:
        for item in group["item"]:
            coding = item["answer"][0]["valueCoding"]
            assert f"{item['linkId']}: {coding.get('display', '')}" in words
    # The answers are all still there, and posted back they score with the same notice.
    rescored = client.post(FHIR_QR, json=resource, params={"fhirVersion": version})
    assert rescored.status_code == 200, rescored.text
    first = valid(rescored.json(), version)["entry"][0]["resource"]
    assert crisis(first)["level"] == "acute"  # type: ignore[index]


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_without_a_country_asked_the_notice_is_for_the_stored_country(
    client: TestClient, version: str
) -> None:
    answers = {**dict.fromkeys(ITEMS, 4), "wb_overwhelmed": 2}
    response_id, auth = stored(client, answers, country="DE", submit=True)

    resource, view = read_both(client, response_id, auth, {"fhirVersion": version})

    assert resource["status"] == "completed"
    notice = contained_notice(resource)
    assert notice == view["crisis"]
    assert notice["level"] == "support"
    assert notice["resources"][0]["country"] == "DE"
    assert notice["message"] in narrative_text(resource)


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_a_response_without_risk_reads_as_before(client: TestClient, version: str) -> None:
    response_id, auth = stored(
        client, {**dict.fromkeys(ITEMS, 4), "wb_life": 0, "wb_overwhelmed": 1}, submit=True
    )

    before = notices_counted()
    resource, view = read_both(client, response_id, auth, {"fhirVersion": version, "country": "GB"})

    assert notices_counted() == before
    assert view["crisis"] is None
    assert set(resource) == PLAIN_KEYS
    assert "OperationOutcome" not in json.dumps(resource)


def test_a_malformed_country_is_refused_as_an_outcome_with_the_notice(client: TestClient) -> None:
    response_id, auth = stored(client, {"wb_now": 1})

    refused = client.get(
        f"{API}/responses/{response_id}/fhir", headers=auth, params={"country": "GBR"}
    )

    outcome = outcome_of(refused, 422)
    assert errors(outcome)[0]["expression"] == ["country"]
    assert crisis(outcome)["level"] == "acute"  # type: ignore[index]


def test_the_openapi_document_says_where_a_read_carries_the_notice(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/responses/{response_id}/fhir"][
        "get"
    ]

    assert "contained" in operation["description"]
    assert NOTICE_REFERENCE in operation["description"]
    assert "country" in {p["name"] for p in operation["parameters"]}


def test_a_risky_response_stored_as_fhir_is_in_its_bundle_as_the_read_gives_it(
    client: TestClient,
) -> None:
    questionnaire = fhir_questionnaire(client, "4.0")
    posted = response_from_options(questionnaire, {**dict.fromkeys(ITEMS, 4), "wb_life": 1})

    created = client.post(FHIR_QR, json=posted, params={"store": "true", "country": "GB"})

    assert created.status_code == 201, created.text
    bundle = valid(created.json(), "4.0")
    kinds = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    receipt = {p["name"]: p for p in kinds["Parameters"]["parameter"]}
    auth = {"Authorization": f"Bearer {receipt['token']['valueString']}"}
    read = client.get(created.headers["location"], headers=auth)
    inline = kinds["QuestionnaireResponse"]
    assert valid(read.json(), "4.0") == inline
    notice = contained_notice(inline)
    assert notice == crisis(kinds["OperationOutcome"])
    assert (notice["level"], notice["resources"][0]["country"]) == ("urgent", "GB")
