"""The web pages over HTTP, on every database backend: flow, safety, privacy and security.

These drive the pages exactly as a browser without scripts does (form posts, redirects,
cookies) and check what is stored through the JSON API, so the web client is proven to use
the same services and storage.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from study_registry import register
from webflow import (
    ATTACHMENT_ITEMS,
    STEPS,
    answer_all,
    api_read,
    csrf_token,
    notice_first,
    page_text,
    post_page,
    radio_names,
    session_cookie,
    start,
)

from app.config import Settings
from app.main import create_app
from app.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    PAGE_CSP,
    SESSION_COOKIE,
    SHOW_CODE_COOKIE,
)
from app.web.strings import web_strings
from scoring.catalog import Catalog

S = web_strings()


def t(key: str, **values: object) -> str:
    return S.text("en", key, **values)


def anxious_answers() -> dict[str, int]:
    answers = dict.fromkeys(ATTACHMENT_ITEMS, 2)
    answers.update({f"anx{n:02d}": 7 for n in range(1, 10)})
    answers.update(anx03=1, anx07=1, avo02=6, avo05=6, avo08=6, dis04=6, dis08=6)
    return answers


def session_pages(web: TestClient) -> list[str]:
    return [f"/questionnaire/{step}" for step in range(1, STEPS + 1)] + ["/delete"]


def check_page(web: TestClient, path: str) -> str:
    reply = web.get(path)
    assert reply.status_code in {200, 404}, (path, reply.status_code)
    headers = reply.headers
    assert headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"] == PAGE_CSP
    assert "unsafe-inline" not in PAGE_CSP
    assert "unsafe-eval" not in PAGE_CSP
    assert "frame-ancestors 'none'" in PAGE_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    html = reply.text
    assert re.search(r'<html lang="en">', html), path
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script on {path}"
    assert "<style" not in html, f"style element on {path}"
    assert not re.search(r"\sstyle=", html), f"style attribute on {path}"
    assert not re.search(r"\son[a-z]+=", html), f"event handler attribute on {path}"
    assert 'href="/help"' in html, f"no help link on {path}"
    return html


def test_every_page_sets_its_own_security_headers_and_has_no_inline_code(
    web: TestClient,
) -> None:
    for path in ["/", "/?study=spring-study", "/help", "/resume", "/deleted", "/delete"]:
        check_page(web, path)
    start(web)
    for path in session_pages(web):
        check_page(web, path)
    token = csrf_token(web.get("/questionnaire/1").text)
    answer_all(web, token, anxious_answers())
    check_page(web, "/results")


def test_static_files_are_small_and_not_sniffed(web: TestClient) -> None:
    for name, media in [("app.css", "text/css"), ("app.js", "text/javascript")]:
        reply = web.get(f"/static/{name}")
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith(media)
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert len(reply.content) < 20_000
    assert "/static/app.js?v=" in web.get("/").text


def test_web_pages_stay_out_of_the_api_contract(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert all(
        path.startswith("/api/") or path in {"/healthz", "/readyz", "/metrics"} for path in paths
    )


def test_landing_says_what_it_is_and_asks_consent_unticked(
    web: TestClient, catalog: Catalog
) -> None:
    html = web.get("/").text
    text = " ".join(page_text(html).text)
    definition = catalog.get("attachment-self-reflection")
    assert definition is not None
    assert t("landing.not_heading") in text
    assert "not a diagnosis" in text
    assert f"About {definition.definition.estimated_minutes} minutes" in text
    assert t("landing.stored_heading") in text
    assert "IP address" in text
    assert t("landing.retention", days=30) in text
    checkbox = re.search(r"<input[^>]*name=\"research_consent\"[^>]*>", html)
    assert checkbox
    assert "checked" not in checkbox.group(0)
    assert '<a class="help-link" href="/help">' in html


@pytest.mark.parametrize("consent", [True, False])
def test_study_link_and_consent_are_stored_with_the_response(
    web: TestClient, consent: bool
) -> None:
    enrolment = register(web.app.state.engine, "spring-study")  # type: ignore[attr-defined]
    landing = web.get("/", params={"study": enrolment}).text
    assert f'name="study" value="{enrolment}"' in landing
    assert t("landing.study_note", code=enrolment) in " ".join(page_text(landing).text)
    start(web, study=enrolment, consent=consent)
    stored = api_read(web).json()
    assert stored["study"] == "spring-study"
    assert stored["consent"] == {"research": consent}
    assert stored["status"] == "in_progress"


def test_a_malformed_study_code_is_neither_reflected_nor_stored(web: TestClient) -> None:
    attack = '"><script>alert(1)</script>'
    html = web.get("/", params={"study": attack}).text
    assert "<script>alert" not in html
    assert "alert(1)" not in html
    assert t("landing.study_invalid") in " ".join(page_text(html).text)
    token = csrf_token(html)
    web.post("/start", data={CSRF_FIELD: token, "study": attack})
    assert api_read(web).json()["study"] is None


def test_session_cookie_is_secure_httponly_lax_and_host_only(web: TestClient) -> None:
    landing = web.get("/")
    csrf_cookie = landing.headers["set-cookie"]
    assert csrf_cookie.startswith(f"{CSRF_COOKIE}=")
    token = csrf_token(landing.text)
    started = web.post("/start", data={CSRF_FIELD: token})
    cookies = started.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
    assert not any(flag.startswith("domain") for flag in flags)
    assert SESSION_COOKIE.startswith("__Host-")
    # The token in the cookie is the API token: it opens the response through the API too.
    assert api_read(web).status_code == 200


def test_pressing_start_twice_opens_one_response(web: TestClient) -> None:
    """A double click (same form, same attempt key) must not leave a second response behind."""
    landing = web.get("/").text
    attempt = re.search(r'name="attempt" value="([^"]+)"', landing)
    assert attempt
    form = {CSRF_FIELD: csrf_token(landing), "attempt": attempt.group(1)}
    first = web.post("/start", data=form)
    first_session = web.cookies.get(SESSION_COOKIE)
    second = web.post("/start", data=form)
    assert first.status_code == second.status_code == 303
    assert web.cookies.get(SESSION_COOKIE) == first_session
    fresh = csrf_token(web.get("/").text)
    web.post("/start", data={CSRF_FIELD: fresh})
    assert web.cookies.get(SESSION_COOKIE) != first_session  # without the key: a new one


def test_forms_are_refused_without_a_matching_token_or_from_another_site(
    web: TestClient,
) -> None:
    token = csrf_token(web.get("/").text)
    refused = [
        web.post("/start", data={}),
        web.post("/start", data={CSRF_FIELD: "x" * 43}),
        web.post("/start", data={CSRF_FIELD: token}, headers={"Sec-Fetch-Site": "cross-site"}),
        web.post("/start", data={CSRF_FIELD: token}, headers={"Sec-Fetch-Site": "same-site"}),
        web.post("/start", data={CSRF_FIELD: token}, headers={"Origin": "https://evil.example"}),
    ]
    for reply in refused:
        assert reply.status_code == 403
        assert SESSION_COOKIE not in reply.headers.get("set-cookie", "")
        assert t("error.forbidden_title") in reply.text
    assert web.cookies.get(SESSION_COOKIE) is None
    # What a real browser sends for a same-origin form under no-referrer is accepted.
    accepted = web.post(
        "/start",
        data={CSRF_FIELD: token},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert accepted.status_code == 303
    same_host = web.post(
        "/start", data={CSRF_FIELD: token}, headers={"Origin": "https://testserver"}
    )
    assert same_host.status_code == 303


def test_every_state_changing_endpoint_checks_the_token(web: TestClient) -> None:
    token = start(web)
    for path in ["/questionnaire/1", "/resume", "/delete"]:
        assert web.post(path, data={CSRF_FIELD: "wrong-token-" * 4}).status_code == 403
    assert web.post("/web/answers", json={"answers": {"anx01": 3}}).status_code == 403
    assert api_read(web).json()["answers"] == {}
    assert (
        web.post(
            "/web/answers", json={"answers": {"anx01": 3}}, headers={"X-CSRF-Token": token}
        ).status_code
        == 200
    )


def test_a_refused_form_with_a_risk_answer_still_shows_help(web: TestClient) -> None:
    start(web)
    refused = web.post("/questionnaire/5", data={CSRF_FIELD: "nope" * 10, "wb_now": "1"})
    assert refused.status_code == 403
    assert notice_first(refused.text)
    assert 'data-level="acute"' in refused.text
    # The refused form stored no answer, but the level it raised is kept for the response.
    stored = api_read(web).json()
    assert stored["crisis"]["level"] == "acute"
    assert "wb_now" not in stored["answers"]
    # A later refused form without any risk answer still shows the stored notice.
    token = csrf_token(web.get("/questionnaire/5").text)
    post_page(web, 5, token, {"wb_selfharm": 2})
    plain = web.post("/questionnaire/5", data={CSRF_FIELD: "nope" * 10, "wb_substance": "0"})
    assert plain.status_code == 403
    assert notice_first(plain.text)
    assert 'data-level="acute"' in plain.text


def test_a_risk_answer_without_a_session_still_shows_help(web: TestClient) -> None:
    token = csrf_token(web.get("/").text)
    reply = post_page(web, 5, token, {"wb_life": 2})
    assert reply.status_code == 404
    assert 'data-level="urgent"' in reply.text
    assert notice_first(reply.text)
    lost = web.post(
        "/web/answers", json={"answers": {"wb_selfharm": 1}}, headers={"X-CSRF-Token": token}
    )
    assert lost.status_code == 404
    assert lost.json()["level"] == "urgent"
    assert "crisis-notice" in lost.json()["notice_html"]


def test_pages_post_redirect_get_and_answers_reach_the_store(web: TestClient) -> None:
    token = start(web)
    first = web.get("/questionnaire/1").text
    items = radio_names(first)
    assert 5 <= len(items) <= 8
    moved = post_page(web, 1, token, dict.fromkeys(items, 3))
    assert (moved.status_code, moved.headers["location"]) == (303, "/questionnaire/2")
    second_items = radio_names(web.get("/questionnaire/2").text)
    back = post_page(web, 2, token, {second_items[0]: 6}, "back")
    assert (back.status_code, back.headers["location"]) == (303, "/questionnaire/1")
    stored = api_read(web).json()["answers"]
    assert stored == {**dict.fromkeys(items, 3), second_items[0]: 6}
    again = web.get("/questionnaire/1").text
    assert again.count(" checked>") == len(items)
    assert t("questionnaire.answered_of", answered=len(items) + 1, of=27) in again


def test_pages_hold_five_to_eight_items_each_with_fieldset_legend_and_labels(
    web: TestClient,
) -> None:
    start(web)
    seen: list[str] = []
    for step in range(1, STEPS + 1):
        html = web.get(f"/questionnaire/{step}").text
        items = radio_names(html)
        assert 5 <= len(items) <= 8
        seen += items
        assert html.count("<fieldset") == len(items)
        assert html.count("<legend>") == len(items)
        # Every radio button sits inside its label, so clicking the words selects it.
        assert len(re.findall(r'<label class="option">\s*<input type="radio"', html)) == html.count(
            'type="radio"'
        )
        assert "<progress" in html
    assert seen[:27] == [item for item in seen if not item.startswith("wb_")]
    assert len(seen) == 32


def test_a_risk_answer_shows_the_notice_at_the_top_of_the_next_page(web: TestClient) -> None:
    token = start(web)
    assert not notice_first(web.get("/questionnaire/5").text)
    back = post_page(web, 5, token, {"wb_life": 1}, "back")
    assert back.headers["location"] == "/questionnaire/4"
    next_page = web.get("/questionnaire/4").text
    assert notice_first(next_page)
    assert 'data-level="urgent"' in next_page
    assert t("notice.heading.urgent") in next_page
    # Answering "not at all" afterwards does not make it go away.
    post_page(web, 5, token, {"wb_life": 0}, "back")
    assert notice_first(web.get("/questionnaire/4").text)
    for path in ["/", "/help", "/resume", "/delete", "/questionnaire/1"]:
        assert notice_first(web.get(path).text), path


def test_the_notice_has_no_control_that_hides_it(web: TestClient) -> None:
    token = start(web)
    post_page(web, 5, token, {"wb_now": 1}, "back")
    html = web.get("/questionnaire/4").text
    notice = html[
        html.index('id="crisis-notice"') : html.index(
            "</section>", html.index('id="crisis-notice"')
        )
    ]
    # Its only form chooses the country whose services it lists (a plain GET, no script).
    assert notice.count("<form") == notice.count('<form method="get" class="country-form') <= 1
    assert notice.count("<button") == notice.count("<form")
    assert "hidden" not in notice
    assert t("notice.heading.acute") in notice
    # Acute leads with the emergency action, as a number a phone can dial.
    assert notice.index('href="tel:') < notice.index('class="notice-message"')


def test_too_few_answers_lead_back_to_the_first_open_page(web: TestClient) -> None:
    token = start(web)
    first = radio_names(web.get("/questionnaire/1").text)
    post_page(web, 1, token, dict.fromkeys(first, 4))
    finish = post_page(web, 5, token, {}, "finish")
    assert finish.headers["location"] == "/questionnaire/2?missing=1"
    html = web.get(finish.headers["location"]).text
    assert t("questionnaire.missing_heading") in html
    assert 'role="alert"' in html
    assert html.count(t("questionnaire.not_answered")) == len(radio_names(html))
    assert api_read(web).json()["status"] == "in_progress"


def test_results_show_picture_words_sections_help_and_delete(
    web: TestClient, catalog: Catalog
) -> None:
    token = start(web)
    reply = answer_all(web, token, anxious_answers())
    assert reply.headers["location"] == "/results"
    stored = api_read(web).json()
    result = stored["result"]
    html = web.get("/results").text
    text = " ".join(page_text(html).text)
    assert re.search(
        r'<svg class="chart chart-map"[^>]*role="img"[^>]*aria-labelledby="map-title"',
        html,
    )
    assert re.search(r'<svg class="chart chart-bar"[^>]*role="img"', html)
    assert 'id="map-point"' in html
    assert 'id="bar-marker"' in html
    anxiety = result["scores"]["anxiety"]["mean"]
    avoidance = result["scores"]["avoidance"]["mean"]
    # The point sits where the scores are: avoidance across (64..384), anxiety up (336..16).
    point = re.search(r'<circle cx="([0-9.]+)" cy="([0-9.]+)" r="9" class="point"', html)
    assert point
    assert float(point.group(1)) == pytest.approx(64 + (avoidance - 1) / 6 * 320, abs=0.01)
    assert float(point.group(2)) == pytest.approx(336 - (anxiety - 1) / 6 * 320, abs=0.01)
    assert f"{anxiety:.2f}" in text
    assert result["summary"].split()[0] in text
    assert " ".join(result["summary"].split()) in text
    assert " ".join(result["disclaimer"].split()) in text
    for section in result["psychoeducation"]:
        assert section["title"] in text
        for reference in section["references"]:
            assert " ".join(reference.split()) in text
    assert t("results.help_heading") in text
    assert " ".join(result["help"]["message"].split()) in text
    assert t("results.tendency_elevated", label="Anxious tendency") in text
    assert t("results.tendency_primary") in text
    assert 'href="/delete"' in html
    assert "data-print" in html
    assert "@media print" in web.get("/static/app.css").text
    assert not notice_first(html)
    # The result is dated, so a printed or saved copy says when it is from.
    submitted = stored["submitted_at"][:10]
    assert f'<time datetime="{submitted}">' in html
    year, month, day = (int(part) for part in submitted.split("-"))
    months = S.texts("en", "results.months")
    assert t("results.date", day=day, month=months[month - 1], year=year) in text


def test_results_keep_the_notice_from_the_wellbeing_check(web: TestClient) -> None:
    token = start(web)
    answers = {**anxious_answers(), "wb_overwhelmed": 3}
    answer_all(web, token, answers)
    html = web.get("/results").text
    assert notice_first(html)
    assert 'data-level="support"' in html


def test_autosave_saves_and_answers_with_the_notice_the_server_decides(
    web: TestClient,
) -> None:
    token = start(web)
    headers = {"X-CSRF-Token": token}
    calm = web.post("/web/answers", json={"answers": {"anx01": 5, "wb_life": 0}}, headers=headers)
    assert calm.status_code == 200
    assert calm.json() | {"notice_html": None} == {
        "saved": True,
        "level": None,
        "rank": 0,
        "notice_html": None,
        "answered": 1,
        "of": 27,
    }
    risky = web.post("/web/answers", json={"answers": {"wb_selfharm": 1}}, headers=headers).json()
    assert (risky["saved"], risky["level"], risky["rank"]) == (True, "urgent", 2)
    assert 'id="crisis-notice"' in risky["notice_html"]
    assert 'tabindex="-1"' in risky["notice_html"]
    assert api_read(web).json()["answers"] == {"anx01": 5, "wb_life": 0, "wb_selfharm": 1}
    invalid = web.post("/web/answers", json={"answers": {"wb_now": "Yes"}}, headers=headers)
    assert invalid.status_code == 422
    assert invalid.json()["level"] == "acute"
    garbled = web.post(
        "/web/answers",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert garbled.status_code == 200
    assert garbled.json()["saved"] is True


def test_behind_a_proxy_the_resume_link_uses_the_public_address(
    settings: Settings, catalog: Catalog
) -> None:
    public = Settings(**{**settings.model_dump(), "public_url": "https://reflect.example.org/"})
    app = create_app(public, catalog)
    with TestClient(app, base_url="https://10.0.0.7", follow_redirects=False) as inside:
        start(inside)
        first = inside.get("/questionnaire/1")
        response_id, secret = session_cookie(inside)
    app.state.engine.dispose()
    assert f"https://reflect.example.org/resume?code={response_id}.{secret}" in first.text
    assert "10.0.0.7" not in first.text


@pytest.mark.parametrize("url", ["reflect.example.org", "https://a.example/?next=x", "ftp://a"])
def test_a_public_address_that_is_not_a_plain_web_address_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(public_url=url)


def test_the_resume_code_is_shown_once_and_opens_the_answers_elsewhere(web: TestClient) -> None:
    token = start(web)
    first = web.get("/questionnaire/1")
    assert t("questionnaire.resume_heading") in first.text
    cleared = [c for c in first.headers.get_list("set-cookie") if c.startswith(SHOW_CODE_COOKIE)]
    assert cleared
    assert "Max-Age=0" in cleared[0]
    response_id, secret = session_cookie(web)
    code = f"{response_id}.{secret}"
    assert f"https://testserver/resume?code={code}" in first.text
    assert t("questionnaire.resume_heading") not in web.get("/questionnaire/1").text
    items = radio_names(first.text)
    post_page(web, 1, token, dict.fromkeys(items, 2))

    other = TestClient(web.app, base_url="https://testserver", follow_redirects=False)
    with other:
        found = other.get("/resume", params={"code": code})
        assert found.status_code == 200
        assert t("resume.found_progress", answered=len(items), of=27) in found.text
        assert f">{code}</textarea>" in found.text
        carried = other.post("/resume", data={CSRF_FIELD: csrf_token(found.text), "code": code})
        assert (carried.status_code, carried.headers["location"]) == (303, "/questionnaire/2")
        assert other.cookies.get(SESSION_COOKIE) == code
        assert other.get("/questionnaire/1").text.count(" checked>") == len(items)


def test_delete_asks_first_then_erases_and_the_link_says_the_answers_are_gone(
    web: TestClient,
) -> None:
    token = start(web)
    answer_all(web, token, anxious_answers())
    response_id, secret = session_cookie(web)
    code = f"{response_id}.{secret}"
    confirm = web.get("/delete")
    assert t("delete.body") in " ".join(page_text(confirm.text).text)
    assert api_read(web).status_code == 200  # asking erased nothing
    erased = web.post("/delete", data={CSRF_FIELD: token})
    assert (erased.status_code, erased.headers["location"]) == (303, "/deleted")
    assert web.cookies.get(SESSION_COOKIE) is None
    gone = web.get(
        f"/api/v1/responses/{response_id}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert gone.status_code == 404
    done = web.get("/deleted").text
    assert t("delete.done_title") in done
    assert t("results.help_heading") in done
    link = web.get("/resume", params={"code": code})
    wrong_code = f"{response_id}.{'A' * 43}"
    wrong = web.get("/resume", params={"code": wrong_code})
    assert link.status_code == wrong.status_code == 404
    assert t("resume.not_found") in " ".join(page_text(link.text).text)
    # No way to tell them apart: the pages differ only in the code typed, shown back.
    assert page_text(link.text).text == page_text(wrong.text.replace(wrong_code, code)).text
    assert web.get("/results").status_code == 404


def test_request_values_are_escaped_everywhere(web: TestClient) -> None:
    payload = '"><img src=x onerror=alert(1)>'
    resume = web.get("/resume", params={"code": payload}).text
    assert "<img src=x" not in resume
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in resume
    help_page = web.get("/help", params={"country": payload}).text
    assert "<img src=x" not in help_page
    token = csrf_token(resume)
    posted = web.post("/resume", data={CSRF_FIELD: token, "code": payload})
    assert posted.status_code == 404
    assert "<img src=x" not in posted.text


def test_help_is_reachable_without_a_session_and_offers_every_way_to_reach_help(
    web: TestClient,
) -> None:
    html = web.get("/help", params={"country": "GB"}).text
    text = " ".join(page_text(html).text)
    assert t("help.emergency") in text
    assert "Samaritans" in text
    assert 'href="tel:116123"' in html
    assert 'href="sms:85258"' in html
    assert "Find A Helpline" in text
    assert "Your local emergency number" in text
    unknown = " ".join(page_text(web.get("/help", params={"country": "ZZ"}).text).text)
    assert "Find A Helpline" in unknown
    assert "Your local emergency number" in unknown
    assert 'href="javascript:' not in html


def test_a_mistyped_address_gets_a_page_with_the_way_to_help(web: TestClient) -> None:
    browser = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
    lost = web.get("/reslts", headers=browser)
    assert lost.status_code == 404
    assert lost.headers["content-type"].startswith("text/html")
    assert t("error.not_found_title") in lost.text
    assert 'href="/help"' in lost.text
    assert "default-src" in lost.headers["content-security-policy"]
    # Programs still get problem+json, and so does every address under the API.
    assert web.get("/reslts").headers["content-type"] == "application/problem+json"
    api = web.get("/api/v1/nothing-here", headers=browser)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    # Answers sent to a wrong address are still screened: the reply carries the crisis notice.
    risky = {"questionnaire_id": "attachment-self-reflection", "answers": {"wb_now": 1}}
    sent = web.post("/reslts", json=risky, headers=browser)
    assert sent.status_code == 404
    assert sent.headers["content-type"] == "application/problem+json"
    assert sent.json()["crisis"]["level"] == "acute"


@pytest.mark.parametrize("address", ["/", "/help", "/healthz", "/api/v1/questionnaires"])
def test_head_answers_like_get_without_a_body(web: TestClient, address: str) -> None:
    got = web.get(address)
    head = web.head(address)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]


def test_unknown_step_and_lost_session_get_pages_not_errors(web: TestClient) -> None:
    lost = web.get("/questionnaire/1")
    assert lost.status_code == 404
    assert t("landing.missing") in " ".join(page_text(lost.text).text)
    start(web)
    for step in ["0", "6", "abc", "99999"]:
        reply = web.get(f"/questionnaire/{step}")
        assert reply.status_code == 404
        assert t("error.not_found_title") in reply.text
    web.cookies.clear()
    web.cookies.set(SESSION_COOKIE, f"{'A' * 22}.{'B' * 43}")
    stale = web.get("/")
    assert stale.status_code == 200
    forgotten = [c for c in stale.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert forgotten
    assert "Max-Age=0" in forgotten[0]


def test_finishing_early_with_a_risk_answer_keeps_the_answers_and_the_notice(
    web: TestClient,
) -> None:
    """Without scripts: a risk answer on the wellbeing page, then "See my results" while
    statements are still open. The answers are kept and the notice is on every later page."""
    token = start(web)
    finish = post_page(web, STEPS, token, {"wb_now": 1, "wb_life": 2}, "finish")
    assert (finish.status_code, finish.headers["location"]) == (303, "/questionnaire/1?missing=1")
    stored = api_read(web).json()
    assert stored["answers"] == {"wb_now": 1, "wb_life": 2}
    assert stored["crisis"]["level"] == "acute"
    assert stored["status"] == "in_progress"
    landed = web.get(finish.headers["location"]).text
    assert notice_first(landed)
    assert 'data-level="acute"' in landed
    assert t("questionnaire.missing_heading") in landed
    for path in ["/questionnaire/2", "/questionnaire/5", "/help", "/resume", "/delete", "/"]:
        html = web.get(path).text
        assert notice_first(html), path
        assert 'data-level="acute"' in html, path


def notice_of(html: str) -> str:
    start_at = html.index('id="crisis-notice"')
    return html[start_at : html.index("</section>", start_at)]


def test_where_the_country_is_unknown_the_notice_offers_a_country_choice(
    web: TestClient,
) -> None:
    token = start(web)
    post_page(web, STEPS, token, {"wb_now": 1}, "back")
    unknown = notice_of(web.get("/questionnaire/4").text)
    # A plain GET form (no script needed) that redraws the page with the country's services.
    assert re.search(r'<form method="get" class="country-form notice-country">', unknown)
    assert 'name="country"' in unknown
    assert '<option value="GB">United Kingdom</option>' in unknown
    # Acute leads with a number to dial even before a country is chosen.
    assert 'href="tel:112"' in unknown
    assert unknown.index('href="tel:112"') < unknown.index("notice-message")

    chosen = web.get("/questionnaire/4", params={"country": "gb"})
    notice = notice_of(chosen.text)
    assert 'data-form="full"' in notice, "choosing a country redraws the notice in full"
    assert "<form" not in notice, "a known country needs no choice"
    assert 'href="tel:999"' in notice
    assert notice.index('href="tel:999"') < notice.index("notice-message")
    assert 'href="tel:116123"' in notice
    # The choice is remembered on later pages and on the help page.
    assert 'href="tel:999"' in notice_of(web.get("/questionnaire/1").text)
    help_page = web.get("/help").text
    assert '<option value="GB" selected>' in help_page
    assert 'href="tel:116123"' in help_page
    # A code the resources do not know changes nothing and is not reflected.
    odd = web.get("/questionnaire/4", params={"country": "QQ"}).text
    assert "QQ" not in odd
    assert 'href="tel:999"' in notice_of(odd)


def test_the_help_page_always_has_a_number_to_call_and_leads_with_it_for_acute(
    web: TestClient,
) -> None:
    anonymous = web.get("/help").text
    assert 'href="tel:112"' in anonymous  # country unknown: 112 works in many countries
    assert t("help.emergency") in " ".join(page_text(anonymous).text)
    assert 'href="tel:999"' in web.get("/help", params={"country": "GB"}).text
    token = start(web)
    post_page(web, STEPS, token, {"wb_now": 1}, "back")
    acute = web.get("/help").text
    first_tel = acute.index('href="tel:')
    assert first_tel < acute.index("<h1"), "the notice's emergency action comes first"
    assert 'data-form="full"' in acute
    # The page's own list is in the order acute calls for: the emergency service first.
    services = acute[acute.index('id="services-title"') :]
    assert services.index("resource-emergency") < services.index("resource-crisis_line")


def test_after_the_full_notice_later_pages_carry_a_compact_one(web: TestClient) -> None:
    token = start(web)
    post_page(web, STEPS, token, {"wb_selfharm": 1}, "back")
    first = web.get("/questionnaire/4", params={"country": "GB"}).text
    assert 'data-form="full"' in first
    assert "notice-message" in notice_of(first)
    later = web.get("/questionnaire/3").text
    compact = notice_of(later)
    assert notice_first(later)
    assert 'data-form="compact"' in compact
    assert 'data-level="urgent"' in compact
    assert t("notice.heading.urgent") in compact
    assert "notice-message" not in compact
    contacts = re.findall(r'<a class="contact" href="((?:tel|sms|https):[^"]+)"', compact)
    assert 1 <= len(contacts) <= 2
    assert contacts[0] == "tel:116123"  # the first crisis line, as in the full notice
    assert 'href="/help"' in compact
    assert "<button" not in compact
    assert "hidden" not in compact
    assert len(compact) < len(notice_of(first)) / 2
    # Results and help always show it in full.
    assert 'data-form="full"' in web.get("/help").text
    answer_all(web, token, anxious_answers())
    assert 'data-form="full"' in web.get("/results").text


def test_a_higher_level_is_shown_in_full_again(web: TestClient) -> None:
    token = start(web)
    post_page(web, STEPS, token, {"wb_overwhelmed": 3}, "back")
    assert 'data-form="full"' in web.get("/questionnaire/4").text
    assert 'data-form="compact"' in web.get("/questionnaire/3").text
    post_page(web, STEPS, token, {"wb_now": 1}, "back")
    raised = web.get("/questionnaire/4").text
    assert 'data-form="full"' in raised
    assert 'data-level="acute"' in raised
    assert 'data-form="compact"' in web.get("/questionnaire/3").text


def test_a_refused_form_says_plainly_what_happened(web: TestClient) -> None:
    start(web)
    refused = web.post("/questionnaire/1", data={CSRF_FIELD: "nope" * 10, "anx01": "3"})
    text = " ".join(page_text(refused.text).text)
    assert refused.status_code == 403
    assert "For your safety" not in text
    assert "not saved" in text
    assert t("error.forbidden_body") in text


def test_beside_an_acute_notice_results_open_with_support_not_reassurance(
    web: TestClient,
) -> None:
    token = start(web)
    calm = dict.fromkeys(ATTACHMENT_ITEMS, 2)  # a broadly secure pattern
    answer_all(web, token, {**calm, "wb_now": 1})
    html = web.get("/results").text
    text = " ".join(page_text(html).text)
    after_heading = text[text.index(t("results.title")) :]
    assert after_heading.index(t("results.beside_crisis")) < after_heading.index("broadly secure")
    learn = html[html.index('id="learn-title"') : html.index('class="help-footer"')]
    titles = re.findall(r"<h3>([^<]+)</h3>", learn)
    assert "A broadly secure pattern" in titles
    assert titles[-1] == "A broadly secure pattern"
    assert titles[0] == "Why reaching out can feel so hard"


def title_and_h1(html: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    h1 = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert title
    assert h1
    return " ".join(title.group(1).split()), " ".join(re.sub(r"<[^>]+>", "", h1.group(1)).split())


def test_each_part_has_its_own_title_and_heading_and_the_check_is_no_part(
    web: TestClient,
) -> None:
    start(web)
    seen: set[tuple[str, str]] = set()
    for step in range(1, STEPS):
        html = web.get(f"/questionnaire/{step}").text
        title, h1 = title_and_h1(html)
        part = t("questionnaire.step_of", step=step, steps=STEPS - 1)
        assert title.startswith(part + ":"), title
        assert h1.endswith(part), h1
        assert f'<progress max="{STEPS - 1}" value="{step}"' in html
        seen.add((title, h1))
    assert len(seen) == STEPS - 1, "every part has a title and a heading of its own"
    check = web.get(f"/questionnaire/{STEPS}").text
    title, h1 = title_and_h1(check)
    assert "Part" not in title
    assert "Part" not in h1
    assert h1.endswith(t("questionnaire.optional_heading"))
    assert not re.search(r"Part \d+ of", " ".join(page_text(check).text)), "the check is no part"
    assert f'<progress max="{STEPS - 1}" value="{STEPS - 1}"' in check


def headings_before_h1(html: str) -> list[str]:
    """Headings (other than the crisis notice's) that come before the page's h1."""
    before = html[: html.index("<h1")]
    before = re.sub(r'<section id="crisis-notice".*?</section>', "", before, flags=re.S)
    return re.findall(r"<h[2-6][^>]*>", before)


def test_no_heading_comes_before_the_h1_but_the_crisis_notice(web: TestClient) -> None:
    token = start(web)
    with_code = web.get("/questionnaire/1").text
    assert t("questionnaire.resume_heading") in with_code
    assert headings_before_h1(with_code) == []
    post_page(web, STEPS, token, {"wb_now": 1}, "finish")
    missing = web.get("/questionnaire/1?missing=1").text
    assert t("questionnaire.missing_heading") in missing
    assert notice_first(missing)
    assert headings_before_h1(missing) == []


def test_a_form_sent_without_a_button_points_out_the_open_statements(web: TestClient) -> None:
    """Enter in a radio group with scripts off sends the form with no button pressed: the
    answers are saved, nothing is skipped silently, and Next still moves on deliberately."""
    token = start(web)
    items = radio_names(web.get("/questionnaire/2").text)
    enter = post_page(web, 2, token, {items[0]: 3}, action="")
    assert (enter.status_code, enter.headers["location"]) == (
        303,
        "/questionnaire/2?open=1#open-items",
    )
    assert api_read(web).json()["answers"] == {items[0]: 3}
    html = web.get("/questionnaire/2?open=1").text
    opens = html.index('id="open-items"')
    summary = html[opens : html.index("</div>", opens)]
    assert t("questionnaire.open_heading") in summary
    links = re.findall(r'href="#item-([a-z0-9_]+)"', summary)
    assert links == items[1:], "a link to each open statement, and only those"
    for item in items[1:]:
        assert f'id="item-{item}"' in html
    assert html.count(t("questionnaire.not_answered")) == len(items) - 1
    assert 'value="next"' in html
    # Moving on stays possible, on purpose.
    moved = post_page(web, 2, token, {}, action="next")
    assert moved.headers["location"] == "/questionnaire/3"
    # With every statement answered, Enter is as good as Next.
    full = post_page(web, 2, token, dict.fromkeys(items, 4), action="")
    assert full.headers["location"] == "/questionnaire/3"
    # The first button of the form is that check, so a browser's Enter never means Next.
    form = html[html.index('<form method="post" action="/questionnaire/2"') :]
    first_button = re.search(r"<button[^>]*>", form)
    assert first_button
    assert 'value="check"' in first_button.group(0)


def test_back_comes_before_next_in_the_page(web: TestClient) -> None:
    start(web)
    html = web.get("/questionnaire/2").text
    assert html.index('value="back"') < html.index('value="next"')


def test_the_resume_code_to_copy_by_hand_opens_the_same_answers(web: TestClient) -> None:
    start(web)
    first = web.get("/questionnaire/1").text
    response_id, secret = session_cookie(web)
    code = re.search(r'<textarea id="resume-code"[^>]*>([^<]+)</textarea>', first)
    assert code
    handy = code.group(1)
    groups = handy.split("-")
    assert all(len(group) == 4 for group in groups[:-1])
    assert not re.search(r"[ILOU]", handy), "no look-alike letters"
    assert re.fullmatch(r"[0-9A-Z-]+", handy)
    assert len(handy.replace("-", "")) * 5 >= (16 + 32) * 8, "as strong as the cookie's value"
    other = TestClient(web.app, base_url="https://testserver", follow_redirects=False)
    with other:
        for typed in (handy, handy.lower().replace("-", " "), handy.replace("-", "")):
            found = other.get("/resume", params={"code": typed})
            assert found.status_code == 200, typed
            assert t("resume.found_progress", answered=0, of=27) in found.text
        form = {CSRF_FIELD: csrf_token(found.text), "code": handy.lower().replace("-", "\n")}
        carried = other.post("/resume", data=form)
        assert carried.status_code == 303
        assert other.cookies.get(SESSION_COOKIE) == f"{response_id}.{secret}"
        wrong = handy[:-2] + ("0" if handy[-2] != "0" else "1") + handy[-1]
        assert other.get("/resume", params={"code": wrong}).status_code == 404
