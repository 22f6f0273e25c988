"""The crisis notice on a web page is counted for the operators once per page, the pages for
a refused form included (where the notice the form sent and the one stored for the response
are both worked out, and the stronger one is shown). A form answered with a redirect shows
nothing, so counts nothing: the page it leads to counts the notice, once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx2 import Response
from webflow import ATTACHMENT_ITEMS, post_page, radio_names, start

from app.metrics import exposition
from app.web.security import CSRF_FIELD


def notices_counted() -> float:
    text = exposition()[0].decode()
    prefix = "securebase_crisis_notices_total"
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def test_a_refused_form_with_a_risky_answer_counts_its_notice_once(web: TestClient) -> None:
    token = start(web)
    assert post_page(web, 5, token, {"wb_selfharm": 2}).status_code == 303
    before = notices_counted()
    refused = post_page(web, 5, token, {"wb_now": 1, "wb_life": 9})
    assert refused.status_code == 422, refused.text
    assert 'data-level="acute"' in refused.text
    assert notices_counted() - before == 1


def test_a_form_refused_for_its_token_counts_its_notice_once(web: TestClient) -> None:
    token = start(web)
    assert post_page(web, 5, token, {"wb_selfharm": 2}).status_code == 303
    before = notices_counted()
    refused = web.post("/questionnaire/5", data={CSRF_FIELD: "nope" * 10, "wb_now": "1"})
    assert refused.status_code == 403
    assert 'data-level="acute"' in refused.text
    assert notices_counted() - before == 1


def test_a_page_with_the_stored_notice_counts_it_once(web: TestClient) -> None:
    token = start(web)
    assert post_page(web, 5, token, {"wb_now": 1}).status_code == 303
    before = notices_counted()
    shown = web.get("/questionnaire/2")
    assert shown.status_code == 200
    assert 'data-level="acute"' in shown.text
    assert notices_counted() - before == 1


def counted_along(web: TestClient, posted: Response) -> tuple[Response, float, float]:
    """The redirect a form post was answered with, the page it leads to, and the notices
    counted for each: a redirect shows nothing, the page shows the notice."""
    assert posted.status_code == 303, posted.text
    between = notices_counted()
    shown = web.get(posted.headers["location"])
    return shown, between, notices_counted() - between


def test_a_page_saved_about_a_risky_response_counts_its_notice_once_where_shown(
    web: TestClient,
) -> None:
    token = start(web)
    assert post_page(web, 5, token, {"wb_now": 1}).status_code == 303
    before = notices_counted()
    moved = post_page(web, 2, token, {"anx05": 3})
    shown, between, on_page = counted_along(web, moved)
    assert 'data-level="acute"' in shown.text
    assert (between - before, on_page) == (0, 1)


def test_risky_answers_saved_from_a_form_count_once_on_the_page_that_shows_them(
    web: TestClient,
) -> None:
    token = start(web)
    before = notices_counted()
    moved = post_page(web, 5, token, {"wb_selfharm": 2}, "back")
    shown, between, on_page = counted_along(web, moved)
    assert 'data-level="urgent"' in shown.text
    assert (between - before, on_page) == (0, 1)


def test_finishing_a_risky_response_counts_its_notice_once_on_the_results(
    web: TestClient,
) -> None:
    token = start(web)
    for step in range(1, 5):
        page = web.get(f"/questionnaire/{step}")
        on_page = {item: 4 for item in radio_names(page.text) if item in ATTACHMENT_ITEMS}
        assert post_page(web, step, token, on_page).status_code == 303
    before = notices_counted()
    finished = post_page(web, 5, token, {"wb_overwhelmed": 3}, "finish")
    assert finished.headers["location"] == "/results"
    shown, between, on_page = counted_along(web, finished)
    assert 'data-level="support"' in shown.text
    assert (between - before, on_page) == (0, 1)
