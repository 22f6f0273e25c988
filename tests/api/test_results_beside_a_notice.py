"""What a result says beside a crisis notice: with acute or urgent risk, it does not open with
the reassurance written for a secure pattern, and it leads with where to find support."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import API, QUESTIONNAIRE, complete_answers

SCORE = f"{API}/questionnaires/{QUESTIONNAIRE}/score"


def result_for(client: TestClient, extra: dict[str, int]) -> dict[str, Any]:
    reply = client.post(SCORE, json={"answers": {**complete_answers(4), **extra}})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    assert body["primary_tendency"] == "secure"
    return body


@pytest.mark.parametrize("risk", [{"wb_now": 1}, {"wb_life": 2}, {"wb_selfharm": 1}])
def test_with_acute_or_urgent_risk_support_comes_before_the_secure_reassurance(
    client: TestClient, risk: dict[str, int]
) -> None:
    sections = [s["id"] for s in result_for(client, risk)["psychoeducation"]]
    assert sections[0] == "seeking-support"
    assert sections[-1] == "secure-pattern"


def test_without_risk_a_secure_result_opens_with_its_pattern(client: TestClient) -> None:
    sections = [s["id"] for s in result_for(client, {"wb_now": 0})["psychoeducation"]]
    assert sections[0] == "secure-pattern"


def test_lasting_anxiety_is_pointed_to_a_gp_or_counsellor_not_only_a_crisis_line(
    client: TestClient,
) -> None:
    body = result_for(client, {})
    text = next(s["body"] for s in body["psychoeducation"] if s["id"] == "emotional-dysregulation")
    assert "GP" in text
    assert "counsellor" in text
    assert "thoughts of ending your life" in text.split("GP")[1]
