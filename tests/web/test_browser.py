"""The web client in real headless Chromium, against a real server on 127.0.0.1.

What a person would notice: the whole questionnaire done with the keyboard alone; help that
appears the moment a risk answer is chosen (and, without scripts, on the next page); resuming
on another device; the results picture and sections; deleting. Every page is also checked
with axe-core, weighed (under 100 KB with an empty cache), kept to this origin, checked for
sideways scrolling at 360 px, and photographed at 360 and 1280 px into build/screenshots/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import create_engine
from study_registry import register
from tour import Tour
from webflow import Contexts

from app.config import Settings
from app.web.charts import MAP_BOTTOM, MAP_LEFT, MAP_RIGHT, MAP_TOP
from app.web.security import SESSION_COOKIE
from app.web.strings import web_strings

S = web_strings()
ANXIOUS = {
    **{f"anx{n:02d}": 7 for n in range(1, 10)},
    **{f"avo{n:02d}": 2 for n in range(1, 10)},
    **{f"dis{n:02d}": 2 for n in range(1, 10)},
    "anx03": 1,
    "anx07": 1,
    "avo02": 6,
    "avo05": 6,
    "avo08": 6,
    "dis04": 6,
    "dis08": 6,
}


def t(key: str, **values: object) -> str:
    return S.text("en", key, **values)


# Helpers -------------------------------------------------------------------------------------


def radio_groups(page: Page) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "form.items input[type=radio]", "inputs => [...new Set(inputs.map(i => i.name))]"
    )
    return names


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focused element matches ``selector`` (no mouse involved)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def focus_is_visible(page: Page) -> bool:
    """The focused control (or the option box around a radio) draws a 2 px+ outline."""
    return bool(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                const box = el.matches('input[type=radio]') ? el.closest('label') : el;
                const style = getComputedStyle(box);
                return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
            }"""
        )
    )


def start(page: Page, path: str = "/") -> None:
    page.goto(path)
    page.locator(".start-form button[type=submit]").click()
    page.wait_for_url("**/questionnaire/1")


def choose(page: Page, item: str, value: int) -> None:
    page.locator(f"#item-{item} input[value='{value}']").check()


def answer_pages(page: Page, answers: dict[str, int], through_step: int = 4) -> None:
    """From the current page, answer each page by clicking and press Next, up to a step."""
    for step in range(int(page.url.rsplit("/", 1)[-1].split("?")[0]), through_step + 1):
        for item in radio_groups(page):
            if item in answers:
                choose(page, item, answers[item])
        page.locator("button[value=next]").click()
        page.wait_for_url(f"**/questionnaire/{step + 1}")


def session_code(context: BrowserContext) -> str:
    cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"]
    assert cookie["secure"]
    assert cookie["sameSite"] == "Lax"
    value: str = cookie["value"]
    return value


def api_read(context: BrowserContext, code: str) -> Any:
    """The response through the JSON API (the same store the pages wrote to)."""
    response_id, _, token = code.partition(".")
    return context.request.get(
        f"/api/v1/responses/{response_id}", headers={"Authorization": f"Bearer {token}"}
    )


def notice_before_heading(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => {
                const notice = document.getElementById('crisis-notice');
                const h1 = document.querySelector('h1');
                return !!notice && !!h1 &&
                    !!(notice.compareDocumentPosition(h1) & Node.DOCUMENT_POSITION_FOLLOWING);
            }"""
        )
    )


# The flows -----------------------------------------------------------------------------------


def test_the_whole_questionnaire_with_the_keyboard_only(contexts: Contexts) -> None:
    context = contexts.open()
    page = context.new_page()
    page.goto("/")
    tab_to(page, "input[name=research_consent]")
    assert focus_is_visible(page)
    page.keyboard.press("Space")
    assert page.is_checked("input[name=research_consent]")
    tab_to(page, ".start-form button[type=submit]")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url("**/questionnaire/1")

    chosen: dict[str, int] = {}
    for step in range(1, 6):
        for index, item in enumerate(radio_groups(page)):
            tab_to(page, f"input[name='{item}']")
            assert focus_is_visible(page)
            values = page.eval_on_selector_all(
                f"input[name='{item}']", "inputs => inputs.map(i => Number(i.value))"
            )
            # Statements: a spread of answers. Wellbeing: "not at all", except one answer
            # that calls for support, to show the keyboard path survives the notice.
            offset = (index * 3 + step) % len(values) if step < 5 else 0
            if item == "wb_overwhelmed":
                offset = 2
            page.keyboard.press("Space")
            for _ in range(offset):
                page.keyboard.press("ArrowRight")
            chosen[item] = values[offset]
            assert page.is_checked(f"input[name='{item}'][value='{values[offset]}']")
        tab_to(page, "button[value=next], button[value=finish]")
        if step == 5:
            # The answer reached with arrow keys is saved once focus leaves its group; the
            # notice appears without taking focus from where the person is.
            expect(page.locator("#crisis-notice")).to_have_attribute("data-level", "support")
            expect(page.locator("button[value=finish]")).to_be_focused()
        assert focus_is_visible(page)
        page.keyboard.press("Enter")
        page.wait_for_url("**/results" if step == 5 else f"**/questionnaire/{step + 1}")

    expect(page.locator("h1")).to_have_text(t("results.title"))
    stored = api_read(context, session_code(context)).json()
    assert stored["status"] == "submitted"
    assert stored["answers"] == chosen
    assert stored["consent"] == {"research": True}
    assert stored["crisis"]["level"] == "support"


def test_a_risk_answer_shows_the_notice_before_next_is_pressed(contexts: Contexts) -> None:
    context = contexts.open()
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/5")
    notice = page.locator("#crisis-region #crisis-notice")
    assert notice.count() == 0
    assert page.get_attribute("#crisis-region", "aria-live") == "assertive"

    page.locator("#item-wb_selfharm label.option", has_text="Several days").click()
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("data-level", "urgent")
    expect(notice.locator("h2")).to_have_text(t("notice.heading.urgent"))
    # Announced and in view, but focus stays with the answer; a link by it leads to help.
    expect(page.locator("#item-wb_selfharm input[value='1']")).to_be_focused()
    expect(notice.locator("h2")).to_be_in_viewport()
    go_help = page.locator("#item-wb_selfharm #go-help a[href='#crisis-notice']")
    expect(go_help).to_have_text(t("notice.go_to_help"))
    assert page.url.endswith("/questionnaire/5"), "nothing was submitted"
    assert notice.locator("button, [hidden]").count() == 0, "nothing can hide the notice"
    assert notice.locator("a[href^='tel:'], a[href^='sms:'], a[href^='https:']").count() >= 1

    # A stronger answer raises the level at once; the emergency number comes first.
    page.locator("#item-wb_now label.option", has_text="Yes").click()
    expect(notice).to_have_attribute("data-level", "acute")
    expect(notice.locator(".resource").first).to_have_class("resource resource-emergency")
    # Taking the answer back does not take the notice away.
    with page.expect_response("**/web/answers"):
        page.locator("#item-wb_now label.option", has_text="No").click()
    expect(notice).to_have_attribute("data-level", "acute")

    # The next page (too few statements answered: back to the first open page) keeps it on top.
    page.locator("button[value=finish]").click()
    page.wait_for_url("**/questionnaire/1?missing=1")
    assert notice_before_heading(page)
    expect(page.locator("#crisis-notice")).to_have_attribute("data-level", "acute")


def test_without_javascript_the_notice_shows_on_the_next_page(contexts: Contexts) -> None:
    context = contexts.open(javascript=False)
    page = context.new_page()
    start(page)
    expect(page.locator("#resume-link")).to_be_visible()
    # The copy button needs a script.
    expect(page.locator("button[data-copy=resume-link]")).to_be_hidden()
    answer_pages(page, ANXIOUS)

    page.locator("#item-wb_substance label.option", has_text="More than half the days").click()
    page.wait_for_timeout(300)
    assert page.locator("#crisis-notice").count() == 0, "without a script nothing happens yet"
    page.locator("button[value=back]").click()
    page.wait_for_url("**/questionnaire/4")
    assert notice_before_heading(page)
    expect(page.locator("#crisis-notice")).to_have_attribute("data-level", "support")

    page.locator("button[value=next]").click()
    page.wait_for_url("**/questionnaire/5")
    assert page.is_checked("#item-wb_substance input[value='2']")
    page.locator("#item-wb_now label.option", has_text="Yes").click()
    page.locator("button[value=finish]").click()
    page.wait_for_url("**/results")
    assert notice_before_heading(page)
    expect(page.locator("#crisis-notice")).to_have_attribute("data-level", "acute")
    expect(page.locator("h1")).to_have_text(t("results.title"))
    expect(page.locator(".help-footer")).to_be_visible()


def test_resume_from_the_link_in_a_fresh_browser(contexts: Contexts) -> None:
    first = contexts.open(permissions=["clipboard-read", "clipboard-write"])
    page = first.new_page()
    start(page)
    link = page.input_value("#resume-link")
    assert link.startswith(contexts.base_url + "/resume?code=")
    page.locator("button[data-copy=resume-link]").click()
    expect(page.locator(".copy-status").first).to_have_text(t("questionnaire.copied"))
    assert page.evaluate("navigator.clipboard.readText()") == link
    answer_pages(page, ANXIOUS, through_step=1)
    for item in radio_groups(page)[:2]:
        with page.expect_response("**/web/answers"):
            choose(page, item, 5)
    saved_on_page_two = radio_groups(page)[:2]

    fresh = contexts.open(width=360)
    other = fresh.new_page()
    other.goto(link)
    expect(other.locator(".callout[role=status]")).to_contain_text(
        t("resume.found_progress", answered=7 + 2, of=27)
    )
    assert other.url == contexts.base_url + "/resume", "the code leaves the address bar"
    other.locator(".resume-form button[type=submit]").click()
    other.wait_for_url("**/questionnaire/2")
    for item in saved_on_page_two:
        assert other.is_checked(f"#item-{item} input[value='5']")
    assert session_code(fresh) == session_code(first)
    assert t("questionnaire.resume_heading") not in other.content(), "the link is shown once"


def test_results_show_the_picture_and_sections_print_and_delete(contexts: Contexts) -> None:
    context = contexts.open()
    page = context.new_page()
    start(page)
    answer_pages(page, ANXIOUS)
    page.locator("button[value=finish]").click()
    page.wait_for_url("**/results")
    code = session_code(context)
    result = api_read(context, code).json()["result"]

    chart = page.locator("svg.chart-map")
    expect(chart).to_be_visible()
    assert chart.get_attribute("role") == "img"
    expect(chart.locator("title")).to_have_text(t("results.map_title"))
    anxiety = result["scores"]["anxiety"]["mean"]
    avoidance = result["scores"]["avoidance"]["mean"]
    point = page.locator("#map-point")
    expected_x = MAP_LEFT + (avoidance - 1) / 6 * (MAP_RIGHT - MAP_LEFT)
    expected_y = MAP_BOTTOM - (anxiety - 1) / 6 * (MAP_BOTTOM - MAP_TOP)
    assert float(point.get_attribute("cx") or "nan") == pytest.approx(expected_x, abs=0.01)
    assert float(point.get_attribute("cy") or "nan") == pytest.approx(expected_y, abs=0.01)
    expect(page.locator("svg.chart-bar #bar-marker")).to_be_visible()
    expect(page.locator(".figure-text").first).to_contain_text(f"{anxiety:.2f}")
    expect(page.locator("table.scores tbody tr")).to_have_count(3)
    titles = page.locator("article.psychoeducation h3").all_inner_texts()
    assert titles == [section["title"] for section in result["psychoeducation"]]
    expect(page.locator(".references li").first).to_be_visible()
    expect(page.locator(".help-footer")).to_be_visible()
    expect(page.locator("button[data-print]")).to_be_visible()

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("button[data-print]")).to_be_hidden()
    expect(page.locator(".help-footer")).to_be_visible()
    expect(chart).to_be_visible()
    page.emulate_media(media="screen")

    page.locator("#main").get_by_role("link", name=t("results.delete_link")).click()
    page.wait_for_url("**/delete")
    assert api_read(context, code).status == 200, "asking first erases nothing"
    page.get_by_role("button", name=t("delete.confirm")).click()
    page.wait_for_url("**/deleted")
    expect(page.locator("h1")).to_have_text(t("delete.done_title"))
    assert api_read(context, code).status == 404
    assert all(c["name"] != SESSION_COOKIE for c in context.cookies())
    page.goto(f"/resume?code={code}")
    expect(page.locator(".callout[role=alert]")).to_have_text(
        " ".join(t("resume.not_found").split())
    )


def test_every_page_is_accessible_light_local_and_photographed(
    contexts: Contexts, screenshot_dir: Callable[[str], Path], settings: Settings
) -> None:
    engine = create_engine(settings.database_url)
    enrolment = register(engine, "spring-study")
    engine.dispose()
    context = contexts.open()
    page = context.new_page()
    tour = Tour(page, screenshot_dir)

    for name, path in [
        ("landing", "/"),
        ("landing-study", f"/?study={enrolment}"),
        ("help", "/help?country=GB"),
        ("resume", "/resume"),
        ("resume-not-found", f"/resume?code={'A' * 22}.{'B' * 43}"),
    ]:
        page.goto(path)
        tour.check(name)

    page.goto("/")
    page.locator(".start-form button[type=submit]").click()
    page.wait_for_url("**/questionnaire/1")
    tour.check("questionnaire-1-resume-link")
    page.goto("/questionnaire/5")
    page.locator("button[value=finish]").click()
    page.wait_for_url("**/questionnaire/1?missing=1")
    tour.check("questionnaire-missing-answers")
    page.goto("/questionnaire/1?open=1")
    expect(page.locator("#open-items")).to_be_visible()
    tour.check("questionnaire-open-items", weigh=False)
    for step in range(1, 5):
        page.goto(f"/questionnaire/{step}")
        tour.check(f"questionnaire-{step}")
        answer_pages(page, ANXIOUS, through_step=step)
    tour.check("wellbeing")
    with page.expect_response("**/web/answers"):
        page.locator("#item-wb_life label.option", has_text="Several days").click()
    expect(page.locator("#crisis-notice")).to_be_visible()
    tour.check("wellbeing-notice", weigh=False)
    page.locator("button[value=finish]").click()
    page.wait_for_url("**/results")
    tour.check("results")
    page.goto("/questionnaire/9")
    tour.check("not-found")
    page.goto("/delete")
    tour.check("delete")
    page.goto("/resume")
    page.eval_on_selector("input[name=csrf_token]", "field => { field.value = 'forged'; }")
    page.fill("#code", "anything")
    page.locator(".resume-form button[type=submit]").click()
    tour.check("refused-form")
    page.goto("/delete")
    page.get_by_role("button", name=t("delete.confirm")).click()
    page.wait_for_url("**/deleted")
    tour.check("deleted")

    assert tour.problems == []
    assert len(tour.weights) == 17
    assert contexts.foreign_requests() == []
