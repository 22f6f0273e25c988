"""The wellbeing check's instructions promise no way of reaching help that a respondent's
country does not have: no text line is listed for France, Ireland or Germany, nor where the
country is unknown, so the instructions (as the API serves them and as the page shows them)
must not speak of texting, chatting or e-mail that the listed services do not offer there."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from webflow import STEPS, page_text, start

QUESTIONNAIRE = "attachment-self-reflection"
CHANNEL_WORDS = {
    "call": r"\b(call|calling|phone|ring)\b",
    "text": r"\b(text|texting|sms|message)\b",
    "chat": r"\bchat(ting)?\b",
    "email": r"\be-?mail\b",
}
"""How each contact channel of the crisis resources would be named in words."""


def offered_channels(web: TestClient, country: str | None) -> set[str]:
    listed = web.get("/api/v1/crisis-resources", params={"country": country} if country else {})
    assert listed.status_code == 200
    return {
        contact["channel"]
        for resource in listed.json()["resources"]
        for contact in resource["contacts"]
    }


def promised_channels(text: str) -> set[str]:
    return {
        channel
        for channel, words in CHANNEL_WORDS.items()
        if re.search(words, text, flags=re.IGNORECASE)
    }


def served_instructions(web: TestClient) -> str:
    served = web.get(f"/api/v1/questionnaires/{QUESTIONNAIRE}", params={"lang": "en"})
    assert served.status_code == 200
    (wellbeing,) = [s for s in served.json()["sections"] if s["id"] == "wellbeing"]
    instructions: str = wellbeing["instructions"]
    return instructions


@pytest.mark.parametrize("country", ["FR", "IE", "DE", None])
def test_the_instructions_promise_only_channels_the_country_has(
    web: TestClient, country: str | None
) -> None:
    offered = offered_channels(web, country)
    instructions = served_instructions(web)

    assert promised_channels(instructions) <= offered, (country, offered, instructions)
    # The reassurance itself stays: help is listed whatever the answers.
    assert "help" in instructions
    assert "every result" in instructions

    start(web)
    page = web.get(f"/questionnaire/{STEPS}", params={"country": country} if country else {})
    assert page.status_code == 200
    shown = " ".join(page_text(page.text).text)
    assert " ".join(instructions.split()) in shown
