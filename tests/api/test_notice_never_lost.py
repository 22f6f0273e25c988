"""The safety invariant as a property over sequences of requests.

Random sequences of requests about one response (API calls, and the web client's form posts
and script calls: valid, invalid, malformed, duplicate-keyed and oversized bodies, wrong
tokens, unknown ids, submitting, reading) are checked after every step against a small model:

- once risk was sent for the response (with its token or its session cookie), every later
  JSON answer about it carries a notice of at least that level, and its stored level is
  exactly the highest level ever sent;
- the stored answers are exactly the valid ones sent by requests that were accepted.

The expected level comes from product.md's table, independently of the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

API = "/api/v1"
QUESTIONNAIRE = "attachment-self-reflection"
SESSION_COOKIE = "__Host-securebase-session"
CSRF_COOKIE = "__Host-securebase-csrf"
CSRF = "c" * 43
ATTACHMENT = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]
RANK = {None: 0, "support": 1, "urgent": 2, "acute": 3}
# item -> (lowest value that indicates risk, level, highest valid value)
RISK = {
    "wb_now": (1, "acute", 1),
    "wb_life": (1, "urgent", 3),
    "wb_selfharm": (1, "urgent", 3),
    "wb_substance": (2, "support", 3),
    "wb_overwhelmed": (2, "support", 3),
}


def rank_of(answers: dict[str, Any]) -> int:
    """The level these (numeric) wellbeing answers indicate, as a rank."""
    ranks = [
        RANK[RISK[item][1]]
        for item, value in answers.items()
        if item in RISK and isinstance(value, int) and value >= RISK[item][0]
    ]
    return max(ranks, default=0)


@dataclass
class Model:
    response_id: str
    token: str
    answers: dict[str, int]
    rank: int = 0
    submitted: bool = False
    log: list[str] = field(default_factory=list)


valid_attachment = st.dictionaries(st.sampled_from(ATTACHMENT), st.integers(1, 7), max_size=27)
valid_wellbeing = st.sets(st.sampled_from(sorted(RISK))).flatmap(
    lambda chosen: st.fixed_dictionaries({item: st.integers(0, RISK[item][2]) for item in chosen})
)
valid_answers = st.builds(lambda a, w: {**a, **w}, valid_attachment, valid_wellbeing)
invalid_value = st.sampled_from([0, 8, "5", 5.5, None, [3], True])

STEPS = st.sampled_from(
    [
        "put_valid",
        "put_invalid",
        "put_malformed",
        "put_duplicate",
        "put_oversized",
        "put_wrong_token",
        "put_unknown_id",
        "read",
        "submit",
        "submit_bad_country",
        "web_form_valid",
        "web_form_invalid",
        "web_script_valid",
        "web_script_duplicate",
    ]
)


def notice_rank(reply: Any) -> int:
    try:
        body = reply.json()
    except ValueError:
        return 0
    notice = body.get("crisis") if isinstance(body, dict) else None
    return RANK[notice["level"]] if isinstance(notice, dict) else 0


class Driver:
    def __init__(self, http: TestClient, model: Model, limit: int) -> None:
        self.http = http
        self.model = model
        self.limit = limit
        self.url = f"{API}/responses/{model.response_id}"
        self.auth = {"Authorization": f"Bearer {model.token}"}

    def put_raw(self, raw: bytes, token: str | None = None, url: str | None = None) -> Any:
        auth = {"Authorization": f"Bearer {token}"} if token else self.auth
        headers = {**auth, "Content-Type": "application/json"}
        return self.http.put(f"{url or self.url}/answers", content=raw, headers=headers)

    def web_form(self, answers: dict[str, Any]) -> Any:
        form = {"csrf_token": CSRF, "action": "next", **{k: str(v) for k, v in answers.items()}}
        return self.http.post("/questionnaire/1", data=form)

    def web_script(self, raw: bytes) -> Any:
        headers = {"Content-Type": "application/json", "X-CSRF-Token": CSRF}
        return self.http.post("/web/answers", content=raw, headers=headers)

    def sign_in(self) -> None:
        """The browser's cookies: the session (this response) and the CSRF token."""
        self.http.cookies.set(SESSION_COOKIE, f"{self.model.response_id}.{self.model.token}")
        self.http.cookies.set(CSRF_COOKIE, CSRF)

    def accept(self, answers: dict[str, int]) -> None:
        """A valid save: stored, unless the response is already submitted (409, nothing)."""
        if not self.model.submitted:
            self.model.answers.update(answers)
        self.model.rank = max(self.model.rank, rank_of(answers))

    def step(self, name: str, data: st.DataObject) -> None:
        model = self.model
        model.log.append(name)
        about_it = True
        if name == "put_valid":
            answers = data.draw(valid_answers)
            reply = self.put_raw(json.dumps({"answers": answers}).encode())
            assert reply.status_code == (409 if model.submitted else 200), reply.text
            self.accept(answers)
        elif name == "put_invalid":
            risk = data.draw(valid_wellbeing)
            bad = {data.draw(st.sampled_from(ATTACHMENT)): data.draw(invalid_value)}
            reply = self.put_raw(json.dumps({"answers": {**risk, **bad}}).encode())
            assert reply.status_code in (409, 422), reply.text
            model.rank = max(model.rank, rank_of(risk))
        elif name == "put_malformed":
            risk = data.draw(valid_wellbeing)
            raw = json.dumps({"answers": {**risk, "anx01": 3}}).encode()
            broken = data.draw(
                st.sampled_from([raw[:-1], raw[:-2] + b",}}", raw.replace(b'"', b"'")])
            )
            reply = self.put_raw(broken)
            assert 400 <= reply.status_code < 500, reply.text
            model.rank = max(model.rank, rank_of(risk))
        elif name == "put_duplicate":
            item = data.draw(st.sampled_from(sorted(RISK)))
            first, second = (data.draw(st.integers(0, RISK[item][2])) for _ in range(2))
            raw = b'{"answers": {"%s": %d, "%s": %d}}' % (
                item.encode(),
                first,
                item.encode(),
                second,
            )
            reply = self.put_raw(raw)
            assert reply.status_code == 422, reply.text
            model.rank = max(model.rank, rank_of({item: first}), rank_of({item: second}))
        elif name == "put_oversized":
            risk = data.draw(valid_wellbeing)
            raw = json.dumps({"answers": risk}).encode()[:-1] + b", " + b" " * self.limit + b"}"
            reply = self.put_raw(raw)
            assert reply.status_code == 413, reply.text
            model.rank = max(model.rank, rank_of(risk))
        elif name in ("put_wrong_token", "put_unknown_id"):
            risk = data.draw(valid_wellbeing)
            raw = json.dumps({"answers": risk}).encode()
            if name == "put_wrong_token":
                reply = self.put_raw(raw, token="x" * 43)
            else:
                reply = self.put_raw(raw, url=f"{API}/responses/{'u' * 22}")
            assert reply.status_code == 404, reply.text
            # Not about this response: it carries what it sent, never the stored level.
            assert notice_rank(reply) == rank_of(risk), reply.text
            about_it = False
        elif name == "read":
            reply = self.http.get(self.url, headers=self.auth)
            assert reply.status_code == 200, reply.text
        elif name in ("submit", "submit_bad_country"):
            query = "?country=GBR" if name == "submit_bad_country" else ""
            reply = self.http.post(f"{self.url}/submit{query}", headers=self.auth)
            if name == "submit" and reply.status_code == 200:
                model.submitted = True
            assert reply.status_code in (200, 422), reply.text
        elif name == "web_form_valid":
            answers = data.draw(valid_answers)
            reply = self.web_form(answers)
            assert reply.status_code == 303, reply.text
            self.accept(answers)
        elif name == "web_form_invalid":
            risk = data.draw(valid_wellbeing)
            reply = self.web_form({**risk, "anx01": "often"})
            assert reply.status_code in (303, 422), reply.text
            model.rank = max(model.rank, rank_of(risk))
        elif name == "web_script_valid":
            answers = data.draw(valid_answers)
            reply = self.web_script(json.dumps({"answers": answers}).encode())
            assert reply.status_code == (409 if model.submitted else 200), reply.text
            self.accept(answers)
        else:
            item = data.draw(st.sampled_from(sorted(RISK)))
            value = data.draw(st.integers(0, RISK[item][2]))
            raw = b'{"answers": {"%s": %d, "%s": 0}}' % (item.encode(), value, item.encode())
            reply = self.web_script(raw)
            assert reply.status_code == 422, reply.text
            model.rank = max(model.rank, rank_of({item: value}))
        if about_it and reply.headers.get("content-type", "").endswith("json"):
            assert notice_rank(reply) >= model.rank, (model.log, reply.text)
        self.check_stored()

    def check_stored(self) -> None:
        read = self.http.get(self.url, headers=self.auth)
        assert read.status_code == 200, read.text
        body = read.json()
        assert body["answers"] == self.model.answers, self.model.log
        assert notice_rank(read) == self.model.rank, (self.model.log, body["crisis"])


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEPS, min_size=1, max_size=10), data=st.data())
def test_the_notice_is_never_lost_and_only_valid_answers_are_stored(
    settings: Settings, catalog: Catalog, steps: list[str], data: st.DataObject
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 4096})
    app = create_app(small, catalog)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as http:
        created = http.post(
            f"{API}/responses", json={"questionnaire_id": QUESTIONNAIRE, "answers": {"anx01": 3}}
        )
        assert created.status_code == 201
        body = created.json()
        driver = Driver(http, Model(body["response_id"], body["token"], {"anx01": 3}), 4096)
        driver.sign_in()
        for name in steps:
            driver.step(name, data)
    app.state.engine.dispose()
