"""What the crisis notice says and in which order: the emergency action leads an acute notice
whatever the country; a country can be chosen when it is unknown; the message names the
emergency number and promises only the channels the listed services offer; and the
relationship-safety services are offered on the resources answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import API, QUESTIONNAIRE

SCORE = f"{API}/questionnaires/{QUESTIONNAIRE}/score"


def notice_for(client: TestClient, answers: dict[str, int], **extra: Any) -> dict[str, Any]:
    headers = extra.pop("headers", {"Accept-Language": "en"})
    reply = client.post(SCORE, json={"answers": answers, **extra}, headers=headers)
    notice: dict[str, Any] = reply.json()["crisis"]
    return notice


def test_acute_without_a_country_leads_with_the_local_emergency_number(
    client: TestClient,
) -> None:
    notice = notice_for(client, {"wb_now": 1})
    ids = [resource["id"] for resource in notice["resources"]]
    assert ids[:2] == ["local-emergency", "find-a-helpline"]
    assert notice["resources"][0]["contacts"][0]["channel"] == "call"


def test_without_a_country_the_notice_offers_a_country_choice(client: TestClient) -> None:
    notice = notice_for(client, {"wb_now": 1})
    choice = notice["country_choice"]
    assert choice["parameter"] == "country"
    codes = {country["code"] for country in choice["countries"]}
    assert {"GB", "US", "DE", "FR", "IE"} <= codes
    assert all(country["name"] for country in choice["countries"])
    chosen = notice_for(client, {"wb_now": 1}, country=sorted(codes)[0])
    assert chosen["country_choice"] is None


@pytest.mark.parametrize(("country", "number"), [("GB", "999"), ("US", "911"), ("FR", "15")])
def test_acute_names_the_emergency_number_and_offers_hope(
    client: TestClient, country: str, number: str
) -> None:
    notice = notice_for(client, {"wb_now": 1}, country=country)
    assert notice["resources"][0]["kind"] == "emergency"
    assert f"call {number}" in notice["message"]
    assert "can pass" in notice["message"] or "can ease" in notice["message"]


@pytest.mark.parametrize("country", ["FR", "IE", "DE", None])
def test_no_text_line_is_promised_where_none_is_listed(
    client: TestClient, country: str | None
) -> None:
    extra = {"country": country} if country else {}
    for answers in ({"wb_now": 1}, {"wb_life": 2}, {"wb_substance": 3}):
        notice = notice_for(client, answers, **extra)
        offered = {
            contact["channel"]
            for resource in notice["resources"]
            for contact in resource["contacts"]
        }
        assert "text" not in offered
        assert "text" not in notice["message"], notice["message"]


def test_where_a_text_line_is_listed_the_message_says_so(client: TestClient) -> None:
    notice = notice_for(client, {"wb_life": 2}, country="GB")
    assert "text" in notice["message"]


@pytest.mark.parametrize(
    ("country", "resource"),
    [("US", "us-domestic-violence-hotline"), ("GB", "gb-domestic-abuse-helpline")],
)
def test_crisis_resources_name_relationship_safety_services(
    client: TestClient, country: str, resource: str
) -> None:
    reply = client.get(f"{API}/crisis-resources", params={"country": country})
    assert reply.status_code == 200
    safety = reply.json()["relationship_safety"]
    assert resource in [entry["id"] for entry in safety]
    assert all(entry["source"] and entry["verified"] for entry in safety)
    ordinary = [entry["id"] for entry in reply.json()["resources"]]
    assert resource not in ordinary
