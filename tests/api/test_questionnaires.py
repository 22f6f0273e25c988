"""Questionnaires as an integrator sees them: the list, one to render (cacheable by its hash),
and nothing of the scoring key."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from helpers import API, ATTACHMENT_ITEMS, QUESTIONNAIRE, WELLBEING_ITEMS, assert_problem

from scoring.catalog import Catalog

URL = f"{API}/questionnaires/{QUESTIONNAIRE}"


def test_the_list_describes_each_questionnaire(client: TestClient, catalog: Catalog) -> None:
    response = client.get(f"{API}/questionnaires")
    assert response.status_code == 200
    listed = {entry["id"]: entry for entry in response.json()}
    assert set(listed) == set(catalog.definitions)
    entry = listed[QUESTIONNAIRE]
    loaded = catalog.definitions[QUESTIONNAIRE]
    assert entry["version"] == loaded.definition.version
    assert entry["hash"] == loaded.content_hash
    assert entry["hash"].startswith("sha256:")
    assert entry["title"]
    assert entry["languages"] == ["en"]
    assert entry["item_count"] == len(ATTACHMENT_ITEMS) + len(WELLBEING_ITEMS)
    assert entry["estimated_minutes"] == 7


def test_one_questionnaire_has_its_hash_as_etag(client: TestClient) -> None:
    listed = client.get(f"{API}/questionnaires").json()
    content_hash = next(q["hash"] for q in listed if q["id"] == QUESTIONNAIRE)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{content_hash}"'
    assert response.json()["hash"] == content_hash


def test_a_matching_if_none_match_is_answered_304(client: TestClient) -> None:
    etag = client.get(URL).headers["etag"]
    for header in (etag, f'"other", {etag}'):
        cached = client.get(URL, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.content == b""
        assert cached.headers["etag"] == etag
    stale = client.get(URL, headers={"If-None-Match": '"sha256:0000"'})
    assert stale.status_code == 200
    assert stale.json()["id"] == QUESTIONNAIRE


def test_the_view_has_what_a_form_needs(client: TestClient) -> None:
    view = client.get(URL, params={"lang": "en"}).json()
    assert view["language"] == "en"
    assert view["title"]
    assert view["instructions"]
    assert view["consent_text"]
    assert [item["id"] for item in view["items"]] != sorted(ATTACHMENT_ITEMS)  # mixed order
    assert sorted(item["id"] for item in view["items"]) == sorted(ATTACHMENT_ITEMS)
    assert all(item["text"] and item["scale"] == "agreement" for item in view["items"])

    scales = view["scales"]
    assert scales["agreement"]["min"] == 1
    assert scales["agreement"]["max"] == 7
    assert len(scales["agreement"]["labels"]) == 7
    assert scales["agreement"]["labels"][0] == "Strongly disagree"
    assert scales["frequency"]["labels"] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert scales["yes_no"] == {"min": 0, "max": 1, "labels": ["No", "Yes"]}
    for item in view["items"] + view["wellbeing_items"]:
        assert item["scale"] in scales


def test_wellbeing_items_are_a_separate_optional_section(client: TestClient) -> None:
    view = client.get(URL).json()
    sections = {section["id"]: section for section in view["sections"]}
    attachment = [s for s in view["sections"] if not s["optional"]]
    optional = [s for s in view["sections"] if s["optional"]]
    assert len(attachment) == 1
    assert len(optional) == 1
    assert {i["id"] for i in attachment[0]["items"]} == set(ATTACHMENT_ITEMS)
    assert [i["id"] for i in optional[0]["items"]] == WELLBEING_ITEMS
    assert optional[0]["title"]
    assert optional[0]["instructions"]
    assert [i["id"] for i in view["wellbeing_items"]] == WELLBEING_ITEMS
    assert not set(WELLBEING_ITEMS) & {i["id"] for i in view["items"]}
    assert len(sections) == 2


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def test_the_view_does_not_reveal_the_scoring_key(client: TestClient) -> None:
    response = client.get(URL)
    keys = keys_anywhere(response.json())
    revealing = {"reverse", "reversed", "keyed", "dimension", "dimensions", "risk_rules", "bands"}
    assert not keys & revealing, keys & revealing
    assert "reverse" not in response.text.lower()
    item_fields = {key for item in response.json()["items"] for key in item}
    assert item_fields == {"id", "text", "scale"}


def test_an_unknown_questionnaire_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/questionnaires/no-such-thing"), 404)
