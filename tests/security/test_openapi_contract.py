"""The OpenAPI document says what the server does: ``lang`` lists the languages offered,
and a 405 names every method the address answers."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

Q = "attachment-self-reflection"
API = "/api/v1"
UNUSED_METHODS = ("PATCH", "PUT", "POST", "DELETE", "GET")


def _string_branch(schema: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in schema.get("anyOf", [schema]) if b.get("type") == "string")


def test_lang_is_an_enum_of_the_languages_offered(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    parameters = document["paths"][f"{API}/questionnaires/{{questionnaire_id}}"]["get"][
        "parameters"
    ]
    lang = next(p for p in parameters if p["name"] == "lang")
    assert _string_branch(lang["schema"])["enum"] == ["en"]
    schemas = document["components"]["schemas"]
    for body in ("ScoreRequest", "CreateResponseRequest", "SaveAnswersRequest"):
        assert _string_branch(schemas[body]["properties"]["lang"])["enum"] == ["en"], body


def test_the_server_refuses_exactly_what_the_enum_leaves_out(client: TestClient) -> None:
    assert client.get(f"{API}/questionnaires/{Q}", params={"lang": "en"}).status_code == 200
    refused = client.get(f"{API}/questionnaires/{Q}", params={"lang": "fr"})
    assert refused.status_code == 422
    assert [e["item"] for e in refused.json()["errors"]] == ["lang"]
    scored = client.post(f"{API}/questionnaires/{Q}/score", json={"answers": {}, "lang": "fr"})
    assert scored.status_code == 422


def _concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", "x", path)


def test_every_405_names_every_method_of_its_address(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    checked = 0
    for path, operations in document["paths"].items():
        documented = {method.upper() for method in operations}
        if "GET" in documented:
            documented.add("HEAD")
        unused = next(m for m in UNUSED_METHODS if m not in documented)
        response = client.request(unused, _concrete(path))
        assert response.status_code == 405, (path, unused, response.status_code)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert allowed == documented, path
        checked += 1
    assert checked >= 10


def test_a_response_address_allows_get_and_delete(client: TestClient) -> None:
    response = client.patch(f"{API}/responses/some-id")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"


def test_the_idempotency_key_header_is_documented_as_the_server_checks_it(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    header = next(
        p
        for p in document["paths"][f"{API}/responses"]["post"]["parameters"]
        if p["name"].lower() == "idempotency-key"
    )
    rule = header["schema"]
    assert (rule["minLength"], rule["maxLength"], rule["pattern"]) == (16, 255, "^[!-~]+$")
    for key, status in (("k" * 15, 422), ("k" * 16, 201), ("k" * 255 + "x", 422)):
        response = client.post(
            f"{API}/responses", json={"questionnaire_id": Q}, headers={"Idempotency-Key": key}
        )
        assert response.status_code == status, key
