"""The crisis notice on a web page is counted for the operators once per page, the pages for
a refused form included (where the notice the form sent and the one stored for the response
are both worked out, and the stronger one is shown)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from webflow import post_page, start

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
