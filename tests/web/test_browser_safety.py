"""The crisis notice in real Chromium: what a person in distress would notice.

- Arrow keys through every wellbeing question store exactly the answer the keys end on, and an
  answer only passed on the way raises no notice.
- When the notice appears its heading and message are in view, at 1280x800 and 360x800, and
  focus stays where the person is.
- Crisis contact links are tap targets of at least 44 px that do not touch, at 360 px; on the
  help page the first number to call is on the first screen.
- After the full notice, later pages carry a compact one.
- Without scripts, the notice offers a country choice that redraws it with numbers to dial.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from webflow import WELLBEING_ITEMS, Contexts

from app.web.security import SESSION_COOKIE
from app.web.strings import web_strings

S = web_strings()
STATEMENTS = {f"{prefix}{n:02d}": 4 for prefix in ("anx", "avo", "dis") for n in range(1, 10)}


def t(key: str, **values: object) -> str:
    return S.text("en", key, **values)


def start(page: Page) -> None:
    page.goto("/")
    page.locator(".start-form button[type=submit]").click()
    page.wait_for_url("**/questionnaire/1")


def stored(context: BrowserContext) -> Any:
    """The response through the JSON API, with the token from the browser's cookie."""
    code = next(c["value"] for c in context.cookies() if c["name"] == SESSION_COOKIE)
    response_id, _, token = code.partition(".")
    reply = context.request.get(
        f"/api/v1/responses/{response_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status == 200
    return reply.json()


def focus_group(page: Page, item: str) -> None:
    """Tab until focus is in the radio group of ``item`` (no mouse)."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.name === {item!r}"):
            return
    raise AssertionError(f"Tab never reached {item}")


def in_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"] if page.viewport_size else 0
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 40) <= height


def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    found: list[dict[str, float]] = page.eval_on_selector_all(
        selector,
        """links => links.map(link => {
            const r = link.getBoundingClientRect();
            return {x: r.left, y: r.top + window.scrollY, width: r.width, height: r.height};
        })""",
    )
    return found


def apart(a: dict[str, float], b: dict[str, float], gap: float) -> bool:
    return (
        a["x"] + a["width"] + gap <= b["x"]
        or b["x"] + b["width"] + gap <= a["x"]
        or a["y"] + a["height"] + gap <= b["y"]
        or b["y"] + b["height"] + gap <= a["y"]
    )


def test_arrow_keys_store_the_answer_they_end_on_for_every_wellbeing_item(
    contexts: Contexts,
) -> None:
    context = contexts.open()
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/5")
    # Through every option and back: every risk answer is passed on the way, none is kept.
    for item in WELLBEING_ITEMS:
        focus_group(page, item)
        options = page.locator(f"input[name='{item}']").count()
        page.keyboard.press("Space")
        for _ in range(options - 1):
            page.keyboard.press("ArrowRight")
        for _ in range(options - 1):
            page.keyboard.press("ArrowLeft")
        assert page.is_checked(f"#item-{item} input[value='0']")
    with page.expect_response("**/web/answers"):
        page.keyboard.press("Tab")  # leaving the last group settles it
    page.wait_for_timeout(300)
    assert page.locator("#crisis-notice").count() == 0, "no notice for answers only passed"
    response = stored(context)
    assert response["answers"] == dict.fromkeys(WELLBEING_ITEMS, 0)
    assert response["crisis"] is None

    # ArrowRight onto "Yes" for "right now" and stay: once the person leaves the group the
    # answer is saved and the notice appears; focus is where the person went, not moved.
    focus_group(page, "wb_now")
    page.keyboard.press("ArrowRight")
    assert page.is_checked("#item-wb_now input[value='1']")
    page.keyboard.press("Tab")
    notice = page.locator("#crisis-notice")
    expect(notice).to_have_attribute("data-level", "acute")
    expect(page.locator("button[value=finish]")).to_be_focused()
    expect(page.locator("#item-wb_now #go-help a")).to_have_attribute("href", "#crisis-notice")
    assert stored(context)["answers"]["wb_now"] == 1

    # The next key goes where the person is: back in the group, ArrowLeft chooses "No".
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#item-wb_now #go-help a")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowLeft")
    assert page.is_checked("#item-wb_now input[value='0']")
    with page.expect_response("**/web/answers"):
        page.keyboard.press("Tab")
    assert stored(context)["answers"]["wb_now"] == 0
    # The level reached is kept (a response keeps the highest level it ever reached).
    assert stored(context)["crisis"]["level"] == "acute"


def test_a_pause_on_an_answer_saves_it_without_leaving_the_group(contexts: Contexts) -> None:
    context = contexts.open()
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/5")
    focus_group(page, "wb_selfharm")
    page.keyboard.press("Space")
    with page.expect_response("**/web/answers", timeout=10_000):
        page.keyboard.press("ArrowRight")  # "Several days", then nothing: it settles
    expect(page.locator("#crisis-notice")).to_have_attribute("data-level", "urgent")
    expect(page.locator("#item-wb_selfharm input[value='1']")).to_be_focused()
    page.keyboard.press("ArrowRight")
    assert page.is_checked("#item-wb_selfharm input[value='2']"), "the next key is not lost"


@pytest.mark.parametrize("width", [1280, 360])
def test_the_notice_heading_and_message_are_in_view_when_it_appears(
    contexts: Contexts, width: int
) -> None:
    context = contexts.open(width=width, height=800)
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/5")
    page.locator("#item-wb_now label.option", has_text="Yes").scroll_into_view_if_needed()
    page.locator("#item-wb_now label.option", has_text="Yes").click()
    expect(page.locator("#crisis-notice")).to_have_attribute("data-level", "acute")
    page.wait_for_function(
        "() => Math.abs(document.getElementById('crisis-notice').getBoundingClientRect().top) < 40"
    )
    assert in_view(page, "#crisis-notice-title")
    assert in_view(page, "#crisis-notice .notice-message")
    assert in_view(page, "#crisis-notice .notice-action a[href^='tel:']")


@pytest.mark.parametrize("path", ["/help?country=GB", "/questionnaire/4?country=GB"])
def test_crisis_contacts_are_44_px_tap_targets_that_do_not_touch(
    contexts: Contexts, path: str
) -> None:
    context = contexts.open(width=360, height=800)
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/5")
    page.locator("#item-wb_now label.option", has_text="Yes").click()
    page.locator("button[value=back]").click()
    page.wait_for_url("**/questionnaire/4")
    page.goto(path)
    links = boxes(page, "a.contact")
    assert len(links) >= 4
    for box in links:
        assert box["height"] >= 44, box
        assert box["width"] >= 44, box
    for index, first in enumerate(links):
        for second in links[index + 1 :]:
            assert apart(first, second, 4), (first, second)


@pytest.mark.parametrize("with_notice", [False, True])
def test_on_help_at_360_px_the_first_number_to_call_is_on_the_first_screen(
    contexts: Contexts, with_notice: bool
) -> None:
    context = contexts.open(width=360, height=800, locale="en")
    page = context.new_page()
    if with_notice:
        start(page)
        page.goto("/questionnaire/5")
        with page.expect_response("**/web/answers"):
            page.locator("#item-wb_now label.option", has_text="Yes").click()
    page.goto("/help")
    first_tel = page.locator("a[href^='tel:']").first
    box = first_tel.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= 800


def test_after_the_full_notice_later_pages_carry_a_compact_one(contexts: Contexts) -> None:
    context = contexts.open(width=360, height=800)
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/5")
    with page.expect_response("**/web/answers"):
        page.locator("#item-wb_selfharm label.option", has_text="Several days").click()
    notice = page.locator("#crisis-notice")
    expect(notice).to_have_attribute("data-form", "full")
    full_height = notice.bounding_box()["height"]  # type: ignore[index]
    page.locator("button[value=back]").click()
    page.wait_for_url("**/questionnaire/4")
    expect(notice).to_have_attribute("data-form", "compact")
    expect(notice).to_have_attribute("data-level", "urgent")
    expect(notice.locator("h2")).to_have_text(t("notice.heading.urgent"))
    expect(notice.locator("a.contact")).to_have_count(2)
    expect(notice.locator("a[href='/help']")).to_be_visible()
    compact_height = notice.bounding_box()["height"]  # type: ignore[index]
    assert compact_height < full_height / 3
    assert compact_height < 260
    # The page's own heading and progress are on the first screen, below the compact notice.
    assert in_view(page, ".progress")
    assert notice.locator("button").count() == 0, "nothing hides it"
    page.goto("/help")
    expect(notice).to_have_attribute("data-form", "full")


def test_without_scripts_the_notice_offers_a_country_choice(contexts: Contexts) -> None:
    context = contexts.open(javascript=False, locale="en")
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/5")
    page.locator("#item-wb_now label.option", has_text="Yes").click()
    page.locator("button[value=back]").click()
    page.wait_for_url("**/questionnaire/4")
    notice = page.locator("#crisis-notice")
    expect(notice).to_have_attribute("data-level", "acute")
    expect(notice.locator(".notice-action a")).to_have_attribute("href", "tel:112")
    notice.locator("select[name=country]").select_option("GB")
    notice.get_by_role("button", name=t("notice.country_button")).click()
    page.wait_for_url("**/questionnaire/4?country=GB")
    expect(notice.locator(".notice-action a")).to_have_attribute("href", "tel:999")
    expect(notice.locator("a[href='tel:116123']")).to_be_visible()
    expect(notice.locator("select[name=country]")).to_have_count(0)
    # The choice holds on the next pages.
    page.goto("/questionnaire/3")
    expect(notice.locator(".notice-action a")).to_have_attribute("href", "tel:999")
