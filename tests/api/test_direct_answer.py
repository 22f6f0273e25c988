"""Starting a response answered directly (app.api.direct, from the outermost layer:
app.edge.direct) reads exactly as FastAPI's own answer: the same status, headers and bytes
for every request, valid or not, the same crisis notices and submissions counted, and the same
access log line and request metrics.

Two instances, each on a database of its own, get the same requests in the same order: one
as served, one with the direct answer taken away, so that FastAPI answers every request. The
ids and tokens a start makes come from the same counter in both, so that even the new
responses' ids, the replays of an Idempotency-Key and the crisis notices must agree byte for
byte.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from backends import own_postgres_database
from fastapi import Request, Response
from fastapi.testclient import TestClient
from helpers import API, ATTACHMENT_ITEMS, QUESTIONNAIRE, WELLBEING_ITEMS, anxious_answers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy.exc import DBAPIError, OperationalError
from structlog.testing import capture_logs
from study_registry import register

from app.api import direct
from app.api.responses import create_response
from app.config import Settings
from app.main import create_app
from app.services import studies, submissions
from scoring.catalog import Catalog

STUDY = "DIRECT-1"
ENROLMENT = "DIRECTENROL1"
KEYS = ["0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"]


@dataclass
class Pair:
    """The instance as served and the one FastAPI answers alone, with what they did."""

    served: TestClient
    standard: TestClient
    monkeypatch: pytest.MonkeyPatch
    answered_directly: int = 0
    requests: int = 0
    failing: bool = False
    """Whether a server error (500) is what the requests are meant to meet."""


class Counter:
    """Ids and tokens that both instances make alike: each request starts from its number."""

    def __init__(self) -> None:
        self.base = 0
        self.made = itertools.count()

    def restart(self, base: int) -> None:
        self.base = base
        self.made = itertools.count()

    def token(self) -> str:
        return f"token-{self.base}-{next(self.made)}-" + "t" * 20

    def response_id(self) -> str:
        return f"id-{self.base}-{next(self.made)}"

    def response_keys(self) -> tuple[str, str]:
        token = self.token()
        return self.response_id(), token


@pytest.fixture
def standard_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        source = Path(database_url.removeprefix("sqlite:///"))
        copy = tmp_path / "standard.db"
        shutil.copy(source, copy)
        yield f"sqlite:///{copy}"
        return
    with own_postgres_database("direct", migrated=True) as url:
        yield url


@pytest.fixture
def pair(
    database_url: str,
    standard_database_url: str,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Pair]:
    counter = Counter()
    monkeypatch.setattr(submissions, "new_response_keys", counter.response_keys)
    monkeypatch.setattr(studies, "new_enrolment_code", lambda: ENROLMENT)
    apps = [
        create_app(Settings(environment="test", database_url=url, default_country=None), catalog)
        for url in (database_url, standard_database_url)
    ]
    for app in apps:
        assert register(app.state.engine, STUDY) == ENROLMENT
    # A server error is answered, not raised: the pair compares its answers too.
    with (
        TestClient(apps[0], raise_server_exceptions=False) as served,
        TestClient(apps[1], raise_server_exceptions=False) as standard,
    ):
        pair = Pair(served, standard, monkeypatch)
        answer_directly = direct._DIRECT_ANSWERS[create_response]

        async def counted(request: Request) -> Response | None:
            answer = await answer_directly(request)
            pair.answered_directly += answer is not None
            return answer

        monkeypatch.setitem(direct._DIRECT_ANSWERS, create_response, counted)
        yield pair
    for app in apps:
        app.state.engine.dispose()


Headers = dict[str, str] | list[tuple[str, str]]


COUNTED = ("securebase_crisis_notices_total", "securebase_submissions_total")
ROUTE = f"{API}/responses"
TIMED = ("securebase_http_request_duration_seconds_count", {"method": "POST", "route": ROUTE})


def _counts() -> list[float]:
    counted = [REGISTRY.get_sample_value(name) or 0.0 for name in COUNTED]
    answered = [
        REGISTRY.get_sample_value(
            "securebase_http_requests_total", {"method": "POST", "route": ROUTE, "status": status}
        )
        or 0.0
        for status in ("201", "404", "409", "413", "422", "500", "503")
    ]
    return [*counted, *answered, REGISTRY.get_sample_value(*TIMED) or 0.0]


def _sent(client: TestClient, body: bytes | None, headers: Headers) -> tuple[Any, ...]:
    """The answer's status, headers and body; what it added to the counts of crisis notices
    shown, of responses submitted and of requests answered (by status) and timed; and its
    access log line (but the time it took)."""
    before = _counts()
    with capture_logs() as logged:
        answer = client.post(f"{API}/responses", content=body, headers=headers)
    added = [after - then for after, then in zip(_counts(), before, strict=True)]
    access = [
        {key: value for key, value in entry.items() if key != "duration_ms"}
        for entry in logged
        if entry["event"] == "request"
    ]
    assert access, "every answer is logged"
    return answer.status_code, answer.headers.multi_items(), answer.content, added, access


def both(pair: Pair, body: bytes | None, headers: Headers) -> tuple[Any, ...]:
    """The request sent to each instance in turn; the served one's answer, checked equal."""
    pair.requests += 1
    counter = submissions.new_response_keys.__self__  # type: ignore[attr-defined]
    counter.restart(pair.requests)
    served = _sent(pair.served, body, headers)
    counter.restart(pair.requests)
    with pair.monkeypatch.context() as standard_only:
        standard_only.delitem(direct._DIRECT_ANSWERS, create_response)
        standard = _sent(pair.standard, body, headers)
    assert served == standard
    return served


# --- what a client might send -------------------------------------------------------------

answer_values = st.one_of(
    st.integers(-2, 9), st.just(4), st.floats(0, 8), st.text(max_size=2), st.none(), st.booleans()
)
answers = st.one_of(
    st.just(anxious_answers()),
    st.just(anxious_answers()),
    st.builds(lambda v: dict.fromkeys(ATTACHMENT_ITEMS, v), st.integers(1, 7)),
    st.dictionaries(st.sampled_from(ATTACHMENT_ITEMS), st.integers(1, 7), max_size=27),
    st.dictionaries(
        st.sampled_from([*ATTACHMENT_ITEMS, *WELLBEING_ITEMS, "not_an_item"]),
        answer_values,
        max_size=6,
    ),
    st.builds(
        lambda base, risky: {**base, **risky},
        st.builds(lambda v: dict.fromkeys(ATTACHMENT_ITEMS, v), st.integers(1, 7)),
        st.dictionaries(st.sampled_from(WELLBEING_ITEMS), st.integers(0, 3), min_size=1),
    ),
    st.lists(st.integers(), max_size=2),
    st.text(max_size=3),
)
fields: dict[str, st.SearchStrategy[Any]] = {
    "questionnaire_id": st.sampled_from(
        [QUESTIONNAIRE, QUESTIONNAIRE, QUESTIONNAIRE, "no-such-questionnaire", 7, "x" * 65, None]
    ),
    "answers": answers,
    "submit": st.sampled_from([True, True, False, "yes", 1, None]),
    # Mostly valid, so that many requests get as far as being stored.
    "consent": st.sampled_from(
        [*[{"research": True}, {"research": False}, {}] * 3, {"research": "yes"}, {"o": 1}, True]
    ),
    "study": st.sampled_from([*[ENROLMENT] * 4, "UNKNOWNCODE1", "bad code!", 5]),
    "lang": st.sampled_from([*["en"] * 6, "de", "EN", "e"]),
    "country": st.sampled_from([*["GB", "us", "ca", "XX"] * 3, "GBR", 44]),
    "extra": st.just(1),
}
complete_documents = st.fixed_dictionaries(
    {"questionnaire_id": st.just(QUESTIONNAIRE), "answers": answers, "submit": st.just(True)},
    optional={name: fields[name] for name in ("consent", "study", "lang", "country")},
)
documents = st.one_of(
    complete_documents,
    complete_documents,
    complete_documents,
    st.fixed_dictionaries({}, optional=fields),
    st.sampled_from([[], "text", 3, None]),
)
raw_bodies = st.sampled_from(
    [None, b"", b"{", b"not json", b'{"questionnaire_id": 1e999}', b'{"a": 1, "a": 2}']
)
content_types = st.sampled_from(
    [
        *["application/json"] * 6,
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/merge-patch+json",
        "text/plain",
        None,
    ]
)
idempotency_keys = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.uuids().map(str),
    st.sampled_from(KEYS),
    st.sampled_from(["short", "k" * 256, "\x7f" * 20, "key with spaces in it"]),
)
accept_languages = st.sampled_from([None, "en-GB", "en-US,en;q=0.9", "de-DE", "fr;q=0.5", "*", ""])


unusual_headers = st.sampled_from(
    [
        ("Idempotency-Key", KEYS[1]),
        ("Idempotency-Key", "short"),
        ("idempotency_key", KEYS[1]),
        ("idempotency_key", "short"),
        ("Content-Type", "text/plain"),
        ("Content-Type", "application/json"),
        ("Accept-Language", "en-GB"),
        ("accept_language", "en-CA"),
    ]
)
valid_keys = st.one_of(st.none(), st.uuids().map(str), st.sampled_from(KEYS))


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes | None, Headers]:
    """Half of them starts a client would ordinarily send (a valid body, as JSON, with a
    valid key or none), which may still be refused (too few answers, a key used before);
    some with a header twice, or an underscore for the hyphen in a header's name."""
    ordinary = draw(st.booleans())
    if ordinary:
        body: bytes | None = json.dumps(draw(complete_documents)).encode()
    elif draw(st.integers(0, 9)) == 0:
        body = draw(raw_bodies)
    else:
        body = json.dumps(draw(documents)).encode()
    headers = []
    for name, strategy in (
        ("Content-Type", st.just("application/json") if ordinary else content_types),
        ("Idempotency-Key", valid_keys if ordinary else idempotency_keys),
        ("Accept-Language", accept_languages),
    ):
        value = draw(strategy)
        if value is not None:
            headers.append((name, value))
    if draw(st.integers(0, 4)) == 0:
        headers += draw(st.lists(unusual_headers, min_size=1, max_size=2))
    return body, headers


COMPLETE = {"questionnaire_id": QUESTIONNAIRE, "answers": anxious_answers(), "submit": True}
RISKY = {**COMPLETE, "answers": {**anxious_answers(), "wb_now": 1}, "country": "GB"}
JSON = {"Content-Type": "application/json"}
KEYED = {**JSON, "Idempotency-Key": KEYS[0]}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(requests(), min_size=1, max_size=3))
@example([(json.dumps(COMPLETE).encode(), JSON)])
@example([(json.dumps(RISKY).encode(), KEYED), (json.dumps(RISKY).encode(), KEYED)])
@example([(json.dumps({**COMPLETE, "consent": {"research": True}}).encode(), KEYED)])
@example([(json.dumps({**COMPLETE, "study": ENROLMENT}).encode(), JSON)])
@example([(json.dumps(COMPLETE).encode(), [*JSON.items(), ("idempotency_key", "short")])])
@example([(json.dumps(COMPLETE).encode(), [*KEYED.items(), ("Idempotency-Key", "short")])])
@example([(json.dumps(COMPLETE).encode(), [*JSON.items(), ("Content-Type", "text/plain")])])
def test_each_start_is_answered_as_fastapi_answers_it(
    pair: Pair, sent: list[tuple[bytes | None, Headers]]
) -> None:
    for body, headers in sent:
        both(pair, body, headers)


def test_the_ordinary_start_is_answered_directly(pair: Pair) -> None:
    """The comparison above is between two paths: a valid start, a submission with a notice,
    a replay, a study's start take the direct one; a refusal does not."""
    status, _, content, added, _ = both(pair, json.dumps(COMPLETE).encode(), JSON)
    assert status == 201
    assert json.loads(content)["result"]["primary_tendency"] == "anxious"
    assert added[:2] == [0, 1]  # no notice shown; one response submitted
    status, _, content, added, _ = both(pair, json.dumps(RISKY).encode(), KEYED)
    assert status == 201
    assert json.loads(content)["crisis"]["level"] == "acute"
    assert added[:2] == [1, 1]
    assert both(pair, json.dumps(RISKY).encode(), KEYED)[2] == content
    assert both(pair, json.dumps({**COMPLETE, "study": ENROLMENT}).encode(), JSON)[0] == 201
    assert pair.answered_directly == 4
    refused = [
        both(pair, json.dumps({**COMPLETE, "extra": 1}).encode(), JSON),
        both(pair, json.dumps(COMPLETE).encode(), {**JSON, "Idempotency-Key": "short"}),
        both(pair, json.dumps(COMPLETE).encode(), {"Content-Type": "text/plain"}),
    ]
    assert [status for status, *_ in refused] == [422, 422, 422]
    assert pair.answered_directly == 4


def test_a_body_too_large_is_refused_alike(pair: Pair) -> None:
    """The edge refuses a body over the limit before the direct answer is offered it."""
    padded = {**COMPLETE, "padding": "x" * (64 * 1024)}
    status, headers, _, _, access = both(pair, json.dumps(padded).encode(), JSON)
    assert status == 413
    assert ("connection", "close") in headers
    assert access[0]["route"] == "unmatched"  # refused before any route was chosen
    assert pair.answered_directly == 0


class Broken(RuntimeError):
    """A fault of the service's own, met in the middle of a start."""


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Broken("unexpected"), 500),
        (DBAPIError("INSERT ...", {}, Exception("gone")), 500),
        (OperationalError("BEGIN", {}, Exception("database is locked")), 503),
    ],
)
def test_a_failing_start_is_answered_as_fastapi_answers_it(
    pair: Pair, fault: Exception, expected: int
) -> None:
    """An exception the direct answer raises meets the same handlers as the route's: an
    outage is a 503, anything unexpected the server error's 500; both with the notice the
    answers call for, counted once."""

    async def failing(*args: object, **kwargs: object) -> None:
        raise fault

    pair.monkeypatch.setattr(submissions, "start_grouped", failing)
    pair.failing = True
    status, headers, content, added, access = both(pair, json.dumps(RISKY).encode(), KEYED)
    assert status == expected
    assert json.loads(content)["crisis"]["level"] == "acute"
    assert added[:2] == [1, 0]  # the notice shown, nothing submitted
    assert ("x-frame-options", "DENY") in headers
    assert access[0]["status"] == expected
    assert both(pair, json.dumps(COMPLETE).encode(), JSON)[0] == expected
    assert pair.answered_directly == 0  # each failed: none answered
