"""Every crisis notice that reaches a person is counted for the operators, exactly once per
answer: the answers that succeed, and the refusals (invalid or unreadable bodies, a method or
a country that is refused) that carry the notice all the same.

Counted once even where several layers hold the notice: the service that worked it out, the
error handler that shows it, the risk edge that adds it to a JSON answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import API, QUESTIONNAIRE, bearer, create, notices_counted
from httpx2 import Response

from app.services.fhir.outcome import CRISIS_EXTENSION

SCORE = f"{API}/questionnaires/{QUESTIONNAIRE}/score"
JSON = {"Content-Type": "application/json"}
FHIR = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def api(client: TestClient) -> Iterator[TestClient]:
    http = TestClient(client.app, raise_server_exceptions=False)
    yield http
    http.close()


def counted_for(send: Callable[[], Response]) -> tuple[Response, float]:
    before = notices_counted()
    reply = send()
    return reply, notices_counted() - before


def shows_notice(reply: Response) -> bool:
    if reply.headers["content-type"].startswith("application/fhir+json"):
        return any(
            issue.get("severity") == "warning" and CRISIS_EXTENSION in str(issue)
            for issue in reply.json().get("issue", [])
        )
    return isinstance(reply.json().get("crisis"), dict)


REFUSED_BODIES = {
    "invalid-field": b'{"answers": {"wb_now": 1}, "country": 12}',
    "unoffered-language": b'{"answers": {"wb_now": 1}, "lang": "xx"}',
    "trailing-comma": b'{"answers": {"wb_now": 1,}}',
    "duplicate-key": b'{"answers": {"wb_now": 1, "wb_now": 0}}',
    "value-out-of-range": b'{"answers": {"wb_now": 1, "anx01": 9}}',
}


@pytest.mark.parametrize("raw", REFUSED_BODIES.values(), ids=REFUSED_BODIES.keys())
def test_a_refused_body_with_risky_answers_counts_its_notice_once(
    api: TestClient, raw: bytes
) -> None:
    reply, counted = counted_for(lambda: api.post(SCORE, content=raw, headers=JSON))
    assert reply.status_code == 422, reply.text
    assert shows_notice(reply)
    assert counted == 1


def test_a_refused_start_with_risky_answers_counts_its_notice_once(api: TestClient) -> None:
    unknown = {"questionnaire_id": "no-such-questionnaire", "answers": {"wb_now": 1}}
    reply, counted = counted_for(lambda: api.post(f"{API}/responses", json=unknown))
    assert reply.status_code == 422, reply.text
    assert shows_notice(reply)
    assert counted == 1


def test_refusals_about_a_risky_stored_response_count_its_notice_once(api: TestClient) -> None:
    created = create(api, answers={"wb_now": 1, "anx01": 3})
    address = f"{API}/responses/{created['response_id']}"
    token = bearer(created["token"])
    refusals: dict[str, Callable[[], Response]] = {
        "method": lambda: api.patch(address, headers=token),
        "country": lambda: api.get(f"{address}?country=GBR", headers=token),
        "too-few": lambda: api.post(f"{address}/submit", headers=token),
        "invalid": lambda: api.put(
            f"{address}/answers", json={"answers": {"anx01": 9}}, headers=token
        ),
    }
    for name, send in refusals.items():
        reply, counted = counted_for(send)
        assert 400 <= reply.status_code < 500, (name, reply.text)
        assert shows_notice(reply), name
        assert counted == 1, name


def test_an_answer_the_service_and_the_edge_both_give_a_notice_counts_once(
    api: TestClient,
) -> None:
    """The service works out the notice from the stored level (acute, stronger than the
    support level the request sends) and the edge holds the same one: one count."""
    created = create(api, answers={"wb_now": 1})
    reply, counted = counted_for(
        lambda: api.put(
            f"{API}/responses/{created['response_id']}/answers",
            json={"answers": {"wb_substance": 3}},
            headers=bearer(created["token"]),
        )
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["crisis"]["level"] == "acute"
    assert counted == 1


def test_a_fhir_refusal_shown_with_the_notice_counts_it_once(api: TestClient) -> None:
    unreadable = (
        b'{"resourceType": "QuestionnaireResponse", "item": '
        b'[{"linkId": "wb_now", "answer": [{"valueInteger": 1}]},]}'
    )
    reply, counted = counted_for(
        lambda: api.post(f"{API}/fhir/QuestionnaireResponse", content=unreadable, headers=FHIR)
    )
    assert reply.status_code == 422, reply.text
    assert shows_notice(reply)
    assert counted == 1


def test_an_answer_without_a_notice_counts_nothing(api: TestClient) -> None:
    reply, counted = counted_for(lambda: api.post(SCORE, json={"answers": {"anx01": 9}}))
    assert reply.status_code == 422
    assert not shows_notice(reply)
    assert counted == 0


def test_a_batch_counts_each_answer_set_shown_a_notice(api: TestClient) -> None:
    rows = [{"answers": {"wb_now": 1}}, {"answers": {"wb_life": 2}}, {"answers": {"anx01": 2}}]
    reply, counted = counted_for(lambda: api.post(f"{SCORE}/batch", json={"responses": rows}))
    assert reply.status_code == 200, reply.text
    assert [bool(row.get("crisis")) for row in reply.json()["results"]] == [True, True, False]
    assert counted == 2
