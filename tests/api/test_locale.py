"""Country and language: one set of rules for every endpoint, one parser for q-values."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from helpers import API, assert_problem

from app.locale import accept_language_tags, country_from_accept_language
from app.negotiation import media_quality, preferred
from app.services.locale import RequestLocale


def test_the_crisis_resources_refuse_a_language_that_is_not_offered(client: TestClient) -> None:
    problem = assert_problem(
        client.get(f"{API}/crisis-resources", params={"country": "GB", "lang": "xx"}), 422, "lang"
    )
    assert "en" in problem["errors"][0]["message"]
    offered = client.get(f"{API}/crisis-resources", params={"country": "GB", "lang": "en"})
    assert offered.status_code == 200
    assert offered.json()["country"] == "GB"


def test_the_crisis_resources_take_the_country_from_accept_language(client: TestClient) -> None:
    response = client.get(
        f"{API}/crisis-resources", headers={"Accept-Language": "fr;q=0.2, en-US;q=0.9"}
    )
    assert response.status_code == 200
    assert response.json()["country"] == "US"


def test_a_questionnaire_and_the_crisis_resources_refuse_the_same_language_alike(
    client: TestClient,
) -> None:
    questionnaire = client.get(f"{API}/questionnaires/attachment-self-reflection?lang=xx")
    crisis = client.get(f"{API}/crisis-resources?lang=xx")
    for response in (questionnaire, crisis):
        problem = assert_problem(response, 422, "lang")
        assert problem["errors"][0]["message"].startswith("not offered")


def test_accept_language_is_read_in_order_of_quality_then_position() -> None:
    header = "de;q=0.5, en-GB, fr-CA;q=0.5, es;q=0, it;q=x, pt-BR;q=0.9"
    assert accept_language_tags(header) == [
        ("en", "GB"),
        ("pt", "BR"),
        ("de", None),
        ("fr", "CA"),
    ]
    assert country_from_accept_language("de;q=0.9, en-gb;q=0.8") == "GB"
    assert country_from_accept_language("*, not a tag") is None


def test_accept_and_accept_language_share_one_reading_of_q_values() -> None:
    assert preferred("text/csv;q=0.5, application/json") == ["application/json", "text/csv"]
    assert preferred("en;q=0.5, de") == ["de", "en"]
    accept = "application/json;q=0.4, text/*;q=0.8, */*;q=0.1"
    assert media_quality(accept, "text/csv") == pytest.approx(0.8)
    assert media_quality(accept, "application/json") > media_quality(accept, "image/png")
    assert media_quality("text/csv;q=0", "text/csv") == 0
    assert media_quality("", "text/csv") == 0


def test_the_explicit_choice_wins_then_the_stored_one_then_the_header_then_the_default() -> None:
    locale = RequestLocale(
        header_country="FR", default_country="GB", header_languages=("fr", "de", "en")
    )
    assert locale.country() == "FR"
    assert locale.country(stored="IE") == "IE"
    assert locale.with_explicit("us", None).country(stored="IE") == "US"
    assert RequestLocale(default_country="GB").country() == "GB"
    assert locale.language(("en", "de")) == "de"
    assert locale.language(("en", "de"), stored="en") == "en"
    assert locale.with_explicit(None, "en").language(("en", "de"), stored="de") == "en"
    assert RequestLocale().language(("en",)) == "en"
