"""Helpers for driving the web pages over HTTP, the way a browser without scripts would."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from app.web.security import CSRF_FIELD, SESSION_COOKIE

ATTACHMENT_ITEMS = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]
WELLBEING_ITEMS = ["wb_life", "wb_selfharm", "wb_substance", "wb_overwhelmed", "wb_now"]
STEPS = 5  # four pages of statements, then the wellbeing check


def csrf_token(html: str) -> str:
    match = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def radio_names(html: str) -> list[str]:
    """Item ids on a page, in page order."""
    return list(dict.fromkeys(re.findall(r'type="radio" name="([a-z0-9_.-]+)"', html)))


def start(web: TestClient, *, study: str | None = None, consent: bool = False) -> str:
    """Open the landing page and press Start; returns the CSRF token for later posts."""
    landing = web.get("/", params={"study": study} if study else None)
    assert landing.status_code == 200
    token = csrf_token(landing.text)
    attempt = re.search(r'name="attempt" value="([^"]+)"', landing.text)
    assert attempt
    form = {CSRF_FIELD: token, "attempt": attempt.group(1)}
    if study:
        form["study"] = study
    if consent:
        form["research_consent"] = "yes"
    started = web.post("/start", data=form)
    assert started.status_code == 303, started.text
    assert started.headers["location"] == "/questionnaire/1"
    return token


def post_page(
    web: TestClient, step: int, token: str, answers: Mapping[str, int | str], action: str = "next"
) -> Response:
    form: dict[str, Any] = {CSRF_FIELD: token, "action": action}
    form.update({item: str(value) for item, value in answers.items()})
    return web.post(f"/questionnaire/{step}", data=form)


def answer_all(web: TestClient, token: str, answers: dict[str, int]) -> Response:
    """Go through every page, posting the answers that belong on it; returns the last reply."""
    reply: Response | None = None
    for step in range(1, STEPS + 1):
        page = web.get(f"/questionnaire/{step}")
        assert page.status_code == 200, page.text
        on_page = {item: answers[item] for item in radio_names(page.text) if item in answers}
        reply = post_page(web, step, token, on_page, "finish" if step == STEPS else "next")
        assert reply.status_code == 303, reply.text
    assert reply is not None
    return reply


def session_cookie(web: TestClient) -> tuple[str, str]:
    """(response id, token) from the browser session cookie."""
    value = web.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    response_id, _, token = value.partition(".")
    return response_id, token


def api_read(web: TestClient) -> Response:
    """The same response through the JSON API, with the token from the cookie."""
    response_id, token = session_cookie(web)
    return web.get(f"/api/v1/responses/{response_id}", headers={"Authorization": f"Bearer {token}"})


class PageText(HTMLParser):
    """The visible text of a page, and where the first ``<h1>`` and the notice are."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.order: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "title"}:
            self._skip += 1
        ids = dict(attrs).get("id")
        if tag == "h1":
            self.order.append("h1")
        if ids == "crisis-notice":
            self.order.append("notice")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "title"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(" ".join(data.split()))


def page_text(html: str) -> PageText:
    parser = PageText()
    parser.feed(html)
    return parser


def notice_first(html: str) -> bool:
    """True when the page shows the crisis notice, before its main heading."""
    order = page_text(html).order
    return "notice" in order and order.index("notice") < order.index("h1")


class Contexts:
    """Opens browser contexts on the live server and records every request they make."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.requests: list[str] = []
        self._open: list[Any] = []

    def open(
        self,
        *,
        width: int = 1280,
        height: int = 900,
        javascript: bool = True,
        locale: str = "en-GB",
        **options: Any,
    ) -> Any:
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport={"width": width, "height": height},
            java_script_enabled=javascript,
            locale=locale,
            **options,
        )
        context.set_default_timeout(15_000)
        context.on("request", lambda request: self.requests.append(request.url))
        self._open.append(context)
        return context

    def foreign_requests(self) -> list[str]:
        """Requests to anywhere but this server (there must be none)."""
        return [url for url in self.requests if not url.startswith(self.base_url + "/")]

    def close(self) -> None:
        for context in self._open:
            context.close()
