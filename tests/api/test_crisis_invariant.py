"""The safety invariant, as properties: any answer set that endorses a risk item gets the
crisis notice of the right level on every path (stateless scoring, create, save, submit, read,
and rejected requests), whatever else is wrong with the request.

The expected level is computed here from product.md's table, independently of the engine:
acute   wb_now answered yes;
urgent  wb_life or wb_selfharm above "not at all";
support wb_substance or wb_overwhelmed at "more than half the days" or more.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

QUESTIONNAIRE = "attachment-self-reflection"
ATTACHMENT_ITEMS = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]
LEVEL_RANK = {"support": 1, "urgent": 2, "acute": 3}
# item -> (lowest value that indicates risk, level, highest valid value)
RISK_TABLE = {
    "wb_now": (1, "acute", 1),
    "wb_life": (1, "urgent", 3),
    "wb_selfharm": (1, "urgent", 3),
    "wb_substance": (2, "support", 3),
    "wb_overwhelmed": (2, "support", 3),
}
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def expected_level(risk_answers: dict[str, int]) -> tuple[str, set[str]]:
    triggered = {item for item, v in risk_answers.items() if v >= RISK_TABLE[item][0]}
    level = max((RISK_TABLE[item][1] for item in triggered), key=LEVEL_RANK.__getitem__)
    return level, triggered


@st.composite
def risk_answers(draw: st.DrawFn) -> dict[str, int]:
    """At least one wellbeing answer at or above its rule; the others anywhere valid."""
    endorsed = draw(st.sets(st.sampled_from(sorted(RISK_TABLE)), min_size=1))
    answers = {
        item: draw(st.integers(RISK_TABLE[item][0], RISK_TABLE[item][2])) for item in endorsed
    }
    for item in sorted(set(RISK_TABLE) - endorsed):
        if draw(st.booleans()):
            answers[item] = draw(st.integers(0, RISK_TABLE[item][0] - 1))
    return answers


def spelled(value: int) -> st.SearchStrategy[Any]:
    """The same answer as a client might send it: valid, or wrong in type but clear in meaning."""
    return st.sampled_from([value, value, float(value), str(value)])


junk_answers = st.dictionaries(
    st.sampled_from([*ATTACHMENT_ITEMS, "not_an_item"]),
    st.one_of(st.integers(-3, 12), st.none(), st.text(max_size=3), st.floats(0, 8)),
    max_size=4,
)
junk_fields = st.sampled_from(
    [{}, {"bogus": 1}, {"lang": "xx-yy"}, {"country": 12}, {"consent": {"research": "yes"}}]
)


def valid_attachment(value: int = 4) -> dict[str, int]:
    return dict.fromkeys(ATTACHMENT_ITEMS, value)


def assert_notice(body: dict[str, Any], risk: dict[str, int]) -> None:
    level, triggered = expected_level(risk)
    notice = body.get("crisis")
    assert notice is not None, f"no crisis notice in {body}"
    assert notice["level"] == level
    assert triggered <= set(notice["triggered_by"])
    kinds = [resource["kind"] for resource in notice["resources"]]
    assert {"directory", "emergency"} <= set(kinds), "the fallbacks are always listed"
    if level == "acute":
        assert kinds[0] == "emergency", "acute leads with the emergency action"
    else:
        assert kinds[-2:] == ["directory", "emergency"], "fallbacks close the list"
    assert notice["message"]


def create(client: TestClient, answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    reply = client.post(
        "/api/v1/responses", json={"questionnaire_id": QUESTIONNAIRE, "answers": answers, **extra}
    )
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


@PROPERTY
@given(risk=risk_answers(), junk=junk_answers, fields=junk_fields, data=st.data())
def test_stateless_scoring_always_shows_the_notice(
    client: TestClient,
    risk: dict[str, int],
    junk: dict[str, Any],
    fields: dict[str, Any],
    data: st.DataObject,
) -> None:
    sent = {item: data.draw(spelled(value)) for item, value in risk.items()}
    reply = client.post(
        f"/api/v1/questionnaires/{QUESTIONNAIRE}/score",
        json={"answers": {**junk, **sent}, **fields},
    )
    assert reply.status_code in (200, 422)
    assert_notice(reply.json(), risk)


@PROPERTY
@given(
    risk=risk_answers(),
    junk=junk_answers,
    fields=junk_fields,
    submit=st.booleans(),
    complete=st.booleans(),
)
def test_creating_a_response_always_shows_the_notice(
    client: TestClient,
    risk: dict[str, int],
    junk: dict[str, Any],
    fields: dict[str, Any],
    submit: bool,
    complete: bool,
) -> None:
    answers = {**(valid_attachment() if complete else {}), **junk, **risk}
    reply = client.post(
        "/api/v1/responses",
        json={"questionnaire_id": QUESTIONNAIRE, "answers": answers, "submit": submit, **fields},
    )
    assert reply.status_code in (201, 422)
    body = reply.json()
    assert_notice(body, risk)
    if reply.status_code == 201 and submit:
        assert_notice(body["result"], risk)


@PROPERTY
@given(risk=risk_answers(), junk=junk_answers, fields=junk_fields)
def test_saving_partial_answers_always_shows_the_notice(
    client: TestClient, risk: dict[str, int], junk: dict[str, Any], fields: dict[str, Any]
) -> None:
    started = create(client, {"anx01": 3})
    reply = client.put(
        f"/api/v1/responses/{started['response_id']}/answers",
        json={"answers": {**junk, **risk}, **fields},
        headers={"Authorization": f"Bearer {started['token']}"},
    )
    assert reply.status_code in (200, 422)
    assert_notice(reply.json(), risk)


@PROPERTY
@given(risk=risk_answers(), value=st.integers(1, 7))
def test_submitting_and_reading_always_show_the_notice(
    client: TestClient, risk: dict[str, int], value: int
) -> None:
    started = create(client, valid_attachment(value))
    auth = {"Authorization": f"Bearer {started['token']}"}
    url = f"/api/v1/responses/{started['response_id']}"
    saved = client.put(f"{url}/answers", json={"answers": risk}, headers=auth)
    assert saved.status_code == 200
    assert_notice(saved.json(), risk)

    submitted = client.post(f"{url}/submit", headers=auth)
    assert submitted.status_code == 200
    assert_notice(submitted.json(), risk)
    assert_notice(submitted.json()["result"], risk)

    read = client.get(url, headers=auth)
    assert read.status_code == 200
    assert_notice(read.json(), risk)
    assert_notice(read.json()["result"], risk)

    # Rejected because the response is submitted: help is still there.
    late = client.put(f"{url}/answers", json={"answers": risk}, headers=auth)
    assert late.status_code == 409
    assert_notice(late.json(), risk)


@PROPERTY
@given(risk=risk_answers(), token=st.sampled_from(["", "Bearer wrong-token", "Basic abc"]))
def test_requests_refused_for_their_token_still_show_the_notice(
    client: TestClient, risk: dict[str, int], token: str
) -> None:
    started = create(client, {})
    reply = client.put(
        f"/api/v1/responses/{started['response_id']}/answers",
        json={"answers": risk},
        headers={"Authorization": token} if token else {},
    )
    assert reply.status_code == 404
    assert_notice(reply.json(), risk)


@pytest.mark.parametrize(
    ("first", "then"),
    [({"wb_now": 1}, {"wb_now": 0}), ({"wb_life": 2}, {"wb_life": 0})],
)
def test_changing_an_answer_back_does_not_make_the_notice_disappear(
    client: TestClient, first: dict[str, int], then: dict[str, int]
) -> None:
    started = create(client, first)
    auth = {"Authorization": f"Bearer {started['token']}"}
    url = f"/api/v1/responses/{started['response_id']}"
    saved = client.put(f"{url}/answers", json={"answers": then}, headers=auth)
    assert_notice(saved.json(), first)
    assert_notice(client.get(url, headers=auth).json(), first)


def test_answers_below_every_rule_show_no_notice_but_always_the_help_footer(
    client: TestClient,
) -> None:
    calm = {"wb_now": 0, "wb_life": 0, "wb_selfharm": 0, "wb_substance": 1, "wb_overwhelmed": 1}
    reply = client.post(
        f"/api/v1/questionnaires/{QUESTIONNAIRE}/score",
        json={"answers": {**valid_attachment(), **calm}},
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["crisis"] is None
    assert body["help"]["resources"], "the help footer is always present"


def test_acute_notice_puts_the_countrys_emergency_number_first(client: TestClient) -> None:
    reply = client.post(
        f"/api/v1/questionnaires/{QUESTIONNAIRE}/score",
        json={"answers": {"wb_now": 1}, "country": "GB"},
    )
    first = reply.json()["crisis"]["resources"][0]
    assert first["kind"] == "emergency"
    assert first["country"] == "GB"
    assert any(contact["value"] == "999" for contact in first["contacts"])


def test_urgent_notice_puts_a_crisis_line_with_every_channel_first(client: TestClient) -> None:
    reply = client.post(
        f"/api/v1/questionnaires/{QUESTIONNAIRE}/score",
        json={"answers": {"wb_selfharm": 1}},
        headers={"Accept-Language": "en-US,en;q=0.8"},
    )
    first = reply.json()["crisis"]["resources"][0]
    assert first["kind"] == "crisis_line"
    assert {"call", "text", "chat"} <= {contact["channel"] for contact in first["contacts"]}
