"""The risk edge: risk is read from whatever body arrives, before routing; it is stored for a
known, authorized response even when the request is refused; and every answer about such a
response (errors included) carries the notice. Each test here reproduces a failure from the
safety issue (bodies that never parse, duplicate keys, values that are refused, errors about a
stored response) or from the robustness issue (surrogates, depth, long numbers, disconnects).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from helpers import API, QUESTIONNAIRE, assert_problem, bearer, complete_answers, create
from sqlalchemy import create_engine, text

from app.config import Settings
from app.main import create_app
from app.metrics import REQUESTS
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice

JSON = {"Content-Type": "application/json"}
SCORE = f"{API}/questionnaires/{QUESTIONNAIRE}/score"
SESSION_COOKIE = "__Host-securebase-session"


@pytest.fixture
def api(client: TestClient) -> Iterator[TestClient]:
    http = TestClient(client.app, raise_server_exceptions=False)
    yield http
    http.close()


def started(api: TestClient, answers: dict[str, Any] | None = None) -> tuple[str, str]:
    body = create(api, answers=answers or {"anx01": 3})
    return body["response_id"], body["token"]


def stored(api: TestClient, response: tuple[str, str]) -> dict[str, Any]:
    reply = api.get(f"{API}/responses/{response[0]}", headers=bearer(response[1]))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def level(body: dict[str, Any]) -> str | None:
    notice = body.get("crisis")
    return notice["level"] if isinstance(notice, dict) else None


# Duplicate keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "method", "prefix"),
    [
        (SCORE, "POST", ""),
        (f"{API}/responses", "POST", f'"questionnaire_id": "{QUESTIONNAIRE}", '),
    ],
)
def test_a_duplicate_key_is_refused_naming_it_and_the_masked_risk_still_shows(
    api: TestClient, url: str, method: str, prefix: str
) -> None:
    raw = "{" + prefix + '"answers": {"wb_now": 1, "wb_now": 0}}'
    reply = api.request(method, url, content=raw.encode(), headers=JSON)
    body = assert_problem(reply, 422, "wb_now")
    assert {"item": "wb_now", "message": "appears more than once"} in body["errors"]
    assert level(body) == "acute"


def test_a_duplicate_answer_is_not_stored_as_its_last_value(api: TestClient) -> None:
    response = started(api)
    reply = api.put(
        f"{API}/responses/{response[0]}/answers",
        content=b'{"answers": {"anx01": 1, "anx01": 7}}',
        headers={**JSON, **bearer(response[1])},
    )
    assert_problem(reply, 422, "anx01")
    assert stored(api, response)["answers"] == {"anx01": 3}


def test_a_duplicate_key_deep_in_the_body_is_refused(api: TestClient) -> None:
    raw = b'{"answers": {"anx01": 2}, "consent": {"research": true, "research": false}}'
    reply = api.post(SCORE, content=raw, headers=JSON)
    assert_problem(reply, 422, "research")


# Bodies that never parse ------------------------------------------------------------------------

UNPARSED = {
    "trailing-comma": b'{"answers": {"wb_now": 1,}}',
    "truncated": b'{"answers": {"anx01": 3, "wb_now": 1',
    "single-quotes": b"{'answers': {'wb_now': 1}}",
    "invalid-utf8": b'{"answers": {"wb_now": 1, "anx01": "\xff\xfe"}}',
    "top-level-array": b'[{"wb_now": 1}]',
    "not-wrapped": b'{"wb_now": 1}',
}


@pytest.mark.parametrize("raw", UNPARSED.values(), ids=UNPARSED.keys())
def test_a_body_that_never_parses_is_still_screened(api: TestClient, raw: bytes) -> None:
    reply = api.post(SCORE, content=raw, headers=JSON)
    assert 400 <= reply.status_code < 500, reply.text
    assert level(reply.json()) == "acute", reply.text


@pytest.mark.parametrize("raw", UNPARSED.values(), ids=UNPARSED.keys())
def test_risk_in_an_unparsed_body_is_stored_for_the_authorized_response(
    api: TestClient, raw: bytes
) -> None:
    response = started(api)
    reply = api.put(
        f"{API}/responses/{response[0]}/answers",
        content=raw,
        headers={**JSON, **bearer(response[1])},
    )
    assert 400 <= reply.status_code < 500
    assert level(reply.json()) == "acute"
    after = stored(api, response)
    assert level(after) == "acute"
    assert after["answers"] == {"anx01": 3}, "nothing else from an invalid body is stored"


def test_a_wrong_token_stores_nothing_but_still_shows_help(api: TestClient) -> None:
    response = started(api)
    reply = api.put(
        f"{API}/responses/{response[0]}/answers",
        content=b'{"answers": {"wb_now": 1,}}',
        headers={**JSON, **bearer("not-the-token-at-all")},
    )
    assert reply.status_code in (404, 422)
    assert level(reply.json()) == "acute"
    assert level(stored(api, response)) is None


def test_an_oversized_body_is_screened_up_to_the_limit_then_refused(
    api: TestClient, settings: Settings
) -> None:
    response = started(api)
    raw = b'{"answers": {"wb_life": 2, "anx01": 5}, "study": "' + b"a" * settings.max_body_bytes
    reply = api.put(
        f"{API}/responses/{response[0]}/answers",
        content=raw,
        headers={**JSON, **bearer(response[1])},
    )
    body = assert_problem(reply, 413)
    assert level(body) == "urgent"
    after = stored(api, response)
    assert level(after) == "urgent"
    assert after["answers"] == {"anx01": 3}


def test_risk_after_the_limit_is_not_read(api: TestClient, settings: Settings) -> None:
    """The documented limit of the screening: only the bytes within the limit are read."""
    raw = b'{"study": "' + b"a" * settings.max_body_bytes + b'", "answers": {"wb_now": 1}}'
    reply = api.post(SCORE, content=raw, headers=JSON)
    assert_problem(reply, 413)
    assert level(reply.json()) is None


# Refused values, read generously -----------------------------------------------------------------


@pytest.mark.parametrize(
    "answers",
    [
        '{"wb_now": "true"}',
        '{"wb_now": [1]}',
        '{"wb_now": {"v": 1}}',
        '{"WB_NOW": 1}',
        '{"wb_now": "Yes"}',
    ],
)
def test_a_refused_risk_value_shows_the_notice_and_is_stored(api: TestClient, answers: str) -> None:
    response = started(api)
    reply = api.put(
        f"{API}/responses/{response[0]}/answers",
        content=b'{"answers": ' + answers.encode() + b"}",
        headers={**JSON, **bearer(response[1])},
    )
    assert reply.status_code == 422
    assert level(reply.json()) == "acute"
    after = stored(api, response)
    assert level(after) == "acute"
    assert after["answers"] == {"anx01": 3}


# Errors about a stored response -------------------------------------------------------------


def test_submit_with_too_few_answers_carries_the_stored_notice(api: TestClient) -> None:
    response = started(api, {"wb_now": 1, "anx01": 3})
    reply = api.post(f"{API}/responses/{response[0]}/submit", headers=bearer(response[1]))
    body = assert_problem(reply, 422)
    assert level(body) == "acute"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_invalid_country_on_a_stored_response_still_carries_its_notice(
    api: TestClient, method: str
) -> None:
    response = started(api, {**complete_answers(), "wb_life": 1})
    suffix = "/submit" if method == "POST" else ""
    reply = api.request(
        method,
        f"{API}/responses/{response[0]}{suffix}?country=GBR",
        headers=bearer(response[1]),
    )
    body = assert_problem(reply, 422, "country")
    assert level(body) == "urgent"
    assert reply.headers["cache-control"] == "no-store"


def test_an_unknown_method_on_a_stored_response_still_carries_its_notice(api: TestClient) -> None:
    response = started(api, {"wb_selfharm": 2})
    reply = api.patch(f"{API}/responses/{response[0]}", headers=bearer(response[1]))
    assert reply.status_code == 405
    assert level(reply.json()) == "urgent"


def test_the_notice_is_the_stronger_of_stored_and_seen(api: TestClient) -> None:
    response = started(api, {"wb_substance": 3})
    reply = api.put(
        f"{API}/responses/{response[0]}/answers",
        content=b'{"answers": {"wb_life": "several days"}}',
        headers={**JSON, **bearer(response[1])},
    )
    assert reply.status_code == 422
    assert level(reply.json()) == "urgent"


# The web client's session cookie --------------------------------------------------------------


def test_a_web_form_post_raises_the_stored_level_even_when_refused(
    settings: Settings, catalog: Catalog
) -> None:
    app = create_app(settings, catalog)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
        response = started(web)
        cookie = {"Cookie": f"{SESSION_COOKIE}={response[0]}.{response[1]}"}
        # No CSRF token: the form is refused, but the risk it carries is kept.
        reply = web.post(
            "/questionnaire/2",
            content=b"wb_now=1&csrf_token=",
            headers={**cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert reply.status_code == 403
        assert level(stored(web, response)) == "acute"
        assert stored(web, response)["answers"] == {"anx01": 3}
    app.state.engine.dispose()


def test_a_duplicate_key_in_the_web_script_call_is_refused_with_the_notice(
    settings: Settings, catalog: Catalog
) -> None:
    app = create_app(settings, catalog)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
        response = started(web)
        reply = web.post(
            "/web/answers",
            content=b'{"answers": {"wb_now": 1, "wb_now": 0}}',
            headers={**JSON, "Cookie": f"{SESSION_COOKIE}={response[0]}.{response[1]}"},
        )
        body = assert_problem(reply, 422, "wb_now")
        assert level(body) == "acute"
        assert level(stored(web, response)) == "acute"
    app.state.engine.dispose()


# Robustness ------------------------------------------------------------------------------------


def test_a_lone_surrogate_as_an_item_is_a_problem_not_a_server_error(api: TestClient) -> None:
    reply = api.post(SCORE, content=b'{"answers": {"\\ud800": 5}}', headers=JSON)
    body = assert_problem(reply, 422)
    assert len(body["errors"]) == 1


@pytest.mark.parametrize("endpoint", [SCORE, "/web/answers"])
def test_very_deep_nesting_is_refused_saying_so(api: TestClient, endpoint: str) -> None:
    depth = 10_000
    raw = b'{"answers": {"wb_now": 1, "anx01": ' + b"[" * depth + b"]" * depth + b"}}"
    reply = api.post(endpoint, content=raw, headers=JSON)
    body = assert_problem(reply, 422, "body")
    assert "nested" in body["errors"][0]["message"]
    assert level(body) == "acute"


def test_a_4301_digit_number_is_refused_saying_so(api: TestClient) -> None:
    raw = b'{"answers": {"wb_now": 1, "anx01": ' + b"9" * 4301 + b"}}"
    reply = api.post(SCORE, content=raw, headers=JSON)
    body = assert_problem(reply, 422)
    messages = " ".join(e["message"] for e in body["errors"])
    assert "digits" in messages
    assert "9" * 100 not in reply.text, "the number is not echoed back"
    assert level(body) == "acute"


def test_the_problem_list_is_capped_and_echoed_values_are_truncated(api: TestClient) -> None:
    answers = {f"unknown{n:05d}" + "x" * 200: 1 for n in range(300)}
    reply = api.post(SCORE, json={"answers": answers})
    body = assert_problem(reply, 422)
    assert len(body["errors"]) == 51
    assert body["errors"][-1]["message"] == "and 250 more"
    assert all(len(e["item"]) <= 100 for e in body["errors"])
    assert len(reply.content) < 40_000


def test_a_client_that_disconnects_mid_upload_is_counted_as_499(
    settings: Settings, catalog: Catalog
) -> None:
    app = create_app(settings, catalog)
    url = f"{API}/responses"
    before_500 = REQUESTS.labels("POST", "unmatched", "500")._value.get()
    before_499 = REQUESTS.labels("POST", "unmatched", "499")._value.get()
    messages = iter(
        [
            {"type": "http.request", "body": b'{"answers": {"wb', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"500")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    anyio.run(app, scope, receive, send)
    assert sent == []
    assert REQUESTS.labels("POST", "unmatched", "499")._value.get() == before_499 + 1
    assert REQUESTS.labels("POST", "unmatched", "500")._value.get() == before_500
    app.state.engine.dispose()


# Per-path body policy ----------------------------------------------------------------------------


def test_the_batch_path_has_its_own_limit(settings: Settings, catalog: Catalog) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048, "max_batch_body_bytes": 8192})
    app = create_app(small, catalog)
    batch = f"{SCORE}/batch"
    with TestClient(app, raise_server_exceptions=False) as http:
        line = json.dumps({"answers": {"anx01": 3}}).encode() + b"\n"
        fits = http.post(batch, content=line * (4096 // len(line)), headers=JSON)
        assert fits.status_code != 413
        over = http.post(batch, content=line * (9000 // len(line)), headers=JSON)
        assert_problem(over, 413)
    app.state.engine.dispose()


# How research counts crisis levels ---------------------------------------------------------------


def test_research_counts_the_highest_level_the_response_reached(
    api: TestClient, database_url: str
) -> None:
    """Research exports read only the stored level: it is the notice the person was shown
    (acute here), not the level of the final answers (none)."""
    response = started(api, {"wb_now": 1})
    saved = api.put(
        f"{API}/responses/{response[0]}/answers",
        json={"answers": {**complete_answers(), "wb_now": 0}},
        headers=bearer(response[1]),
    )
    assert saved.status_code == 200
    submitted = api.post(f"{API}/responses/{response[0]}/submit", headers=bearer(response[1]))
    assert submitted.status_code == 200
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored_level = connection.execute(
                text("SELECT crisis_level FROM response_session WHERE id = :id"),
                {"id": response[0]},
            ).scalar_one()
    finally:
        engine.dispose()
    assert stored_level == "acute"


@pytest.mark.parametrize("depth", [40, 500, 960])
def test_nesting_deeper_than_any_answer_needs_is_refused_on_the_web_script_call(
    settings: Settings, catalog: Catalog, depth: int
) -> None:
    """Within the parser's reach, but deeper than any body of this service nests: refused
    before a handler tries to validate it (the script endpoint answered 500)."""
    app = create_app(settings, catalog)
    with TestClient(
        app, base_url="https://testserver", follow_redirects=False, raise_server_exceptions=False
    ) as web:
        response = started(web)
        web.cookies.set(SESSION_COOKIE, f"{response[0]}.{response[1]}")
        web.cookies.set("__Host-securebase-csrf", "c" * 43)
        raw = b'{"answers": {"wb_now": 1, "anx01": ' + b"[" * depth + b"]" * depth + b"}}"
        reply = web.post("/web/answers", content=raw, headers={**JSON, "X-CSRF-Token": "c" * 43})
        body = assert_problem(reply, 422, "body")
        assert "nested" in body["errors"][0]["message"]
        assert level(body) == "acute"
        assert stored(web, response)["answers"] == {"anx01": 3}
    app.state.engine.dispose()


# What pages are given ------------------------------------------------------------------------


def test_pages_find_the_effective_notice_in_the_request_state(
    settings: Settings, catalog: Catalog
) -> None:
    """The contract with the web pages: ``request.state.crisis_notice`` holds the notice (the
    stronger of what the request sent and what its session's response has stored), or None."""
    app = create_app(settings, catalog)

    @app.post("/probe-notice")
    def probe(request: Request) -> PlainTextResponse:
        notice: CrisisNotice | None = request.state.crisis_notice
        return PlainTextResponse(notice.level if notice else "none")

    with TestClient(app, base_url="https://testserver") as web:
        assert web.post("/probe-notice").text == "none"
        assert web.post("/probe-notice", content=b"wb_life=1").text == "urgent"
        response = started(web, {"wb_substance": 3})
        web.cookies.set(SESSION_COOKIE, f"{response[0]}.{response[1]}")
        assert web.post("/probe-notice").text == "support"
        assert web.post("/probe-notice", content=b'{"wb_now": "yes"}').text == "acute"
        assert web.post("/probe-notice").text == "acute", "kept for the session's response"
    app.state.engine.dispose()
