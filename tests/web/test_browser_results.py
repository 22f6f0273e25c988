"""The results page and the questionnaire pages, finished: what a person notices at 1280 and
360 px, on screen and on paper.

- Map labels never overlap, at the corners and in the middle; a legend explains every shade.
- The numbers table fits a 360 px screen.
- Printed (A4 PDF): dated, every contact with its number or address, chart text drawn once,
  two pages at most without the notice.
- The map's description is read once.
- Enter in a radio group sends nothing; Back comes before Next in focus order and on screen;
  progress follows autosave and leaves the optional check out of the parts.
- The resume code to copy by hand is shown whole and opens the answers elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from webflow import ATTACHMENT_ITEMS, Contexts

from app.web.security import SESSION_COOKIE
from app.web.strings import web_strings

S = web_strings()
REVERSED = {"anx03", "anx07", "avo02", "avo05", "avo08", "dis04", "dis08"}
WIDTHS = [1280, 360]


def t(key: str, **values: object) -> str:
    return S.text("en", key, **values)


def answers_for(anxiety: int, avoidance: int, disorganization: int) -> dict[str, int]:
    """Answers whose means are exactly the scores asked for (reverse-keyed items turned)."""
    wanted = {"anx": anxiety, "avo": avoidance, "dis": disorganization}
    return {
        item: 8 - wanted[item[:3]] if item in REVERSED else wanted[item[:3]]
        for item in ATTACHMENT_ITEMS
    }


def start(page: Page) -> None:
    page.goto("/")
    page.locator(".start-form button[type=submit]").click()
    page.wait_for_url("**/questionnaire/1")


def save(context: BrowserContext, page: Page, answers: dict[str, int]) -> Any:
    token = page.get_attribute("meta[name=csrf-token]", "content")
    reply = context.request.post(
        "/web/answers", data={"answers": answers}, headers={"X-CSRF-Token": token or ""}
    )
    assert reply.status == 200
    return reply.json()


def results_for(contexts: Contexts, answers: dict[str, int], width: int = 1280) -> Page:
    context = contexts.open(width=width, height=900)
    page = context.new_page()
    start(page)
    save(context, page, answers)
    page.goto("/questionnaire/5")
    page.locator("button[value=finish]").click()
    page.wait_for_url("**/results")
    return page


def text_boxes(page: Page, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.eval_on_selector_all(
        selector,
        """els => els.map(el => {
            const r = el.getBoundingClientRect();
            return {text: el.textContent, left: r.left, top: r.top, right: r.right,
                    bottom: r.bottom};
        })""",
    )
    return found


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


# The map -------------------------------------------------------------------------------------

CORNERS = [(7, 7), (1, 1), (1, 7), (7, 1), (4, 4), (5, 2)]
"""(anxiety, avoidance): every corner of the map, the middle, and one in between."""


@pytest.mark.parametrize("width", WIDTHS)
def test_map_labels_never_overlap_at_the_corners_or_in_the_middle(
    contexts: Contexts, width: int
) -> None:
    for anxiety, avoidance in CORNERS:
        page = results_for(contexts, answers_for(anxiety, avoidance, 2), width)
        texts = text_boxes(page, "svg.chart-map text")
        assert len(texts) >= 4 + 14 + 2 + 1, "ticks, axis names, region names and You"
        for index, first in enumerate(texts):
            for second in texts[index + 1 :]:
                assert not overlap(first, second), (anxiety, avoidance, first, second)
        point = text_boxes(page, "#map-point")[0]
        for label in text_boxes(page, "svg.chart-map .region-label, svg.chart-map .point-label"):
            assert not overlap(label, point), (anxiety, avoidance, label)
        you = next(box for box in texts if box["text"] == t("results.you"))
        plot = text_boxes(page, "svg.chart-map rect.plot-frame")[0]
        assert plot["left"] <= you["left"]
        assert you["right"] <= plot["right"]
        assert plot["top"] <= you["top"]
        assert you["bottom"] <= plot["bottom"]
        page.context.close()


def test_a_legend_explains_every_shade_of_the_map(contexts: Contexts) -> None:
    page = results_for(contexts, answers_for(5, 5, 2))
    legend = page.locator(".legend li")
    expect(legend).to_have_count(5)
    assert legend.evaluate_all("items => items.map(i => i.dataset.shade)") == [
        "low",
        "moderate",
        "avoidance",
        "anxiety",
        "both",
    ]
    # Each shade of the map is in the legend: the same fills and patterns, drawn in SVG.
    map_fills = set(
        page.eval_on_selector_all(
            "svg.chart-map > rect:not(.plot-frame)",
            "rects => rects.map(r => r.getAttribute('fill') || r.getAttribute('class'))",
        )
    )
    legend_fills = set(
        page.eval_on_selector_all(
            ".legend svg rect:not(.swatch-frame)",
            "rects => rects.map(r => r.getAttribute('fill') || r.getAttribute('class'))",
        )
    )
    assert map_fills <= legend_fills
    for item in legend.all():
        assert item.inner_text().strip(), "every swatch is explained in words"
    assert page.locator(".legend .swatch[aria-hidden=true]").count() == 5


def test_the_map_description_is_read_once(contexts: Contexts) -> None:
    page = results_for(contexts, answers_for(5, 2, 2))
    description = page.locator(".figure-text").first.inner_text()
    assert "Your attachment anxiety score is" in description
    spoken = page.locator("main").aria_snapshot()
    assert spoken.count(description[:60]) == 1, spoken
    assert t("results.map_title") in spoken
    bar = page.locator(".figure-text").nth(1).inner_text()
    assert spoken.count(bar[:40]) == 1


# The numbers ---------------------------------------------------------------------------------


def test_the_numbers_table_fits_a_360_px_screen(contexts: Contexts) -> None:
    page = results_for(contexts, answers_for(4, 4, 4), width=360)
    region = page.locator(".table-scroll")
    sizes = region.evaluate(
        "el => ({inner: el.scrollWidth, outer: el.clientWidth,"
        " table: el.querySelector('table').getBoundingClientRect().width})"
    )
    assert sizes["inner"] <= sizes["outer"], sizes
    header = page.locator("table.scores th", has_text=t("results.col_answers"))
    box = header.bounding_box()
    frame = region.bounding_box()
    assert box is not None
    assert frame is not None
    assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5


def test_a_moderate_score_is_called_moderate(contexts: Contexts) -> None:
    page = results_for(contexts, answers_for(2, 2, 4))
    words = page.locator(".tendencies").inner_text()
    assert "Disorganized tendency: moderate" in words
    assert "Disorganized tendency: not elevated" not in words


# On paper ------------------------------------------------------------------------------------


def pdf_pages(page: Page, keep: Path | None = None) -> int:
    pdf = page.pdf(format="A4", print_background=False)
    if keep is not None:
        keep.write_bytes(pdf)
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def assert_contacts_print_with_their_number_or_address(page: Page) -> None:
    """Every contact prints with what to dial or type: chat and web links show their address."""
    contacts = page.eval_on_selector_all(
        "a.contact",
        """links => links.map(a => ({href: a.getAttribute('href'), text: a.innerText,
            after: getComputedStyle(a, '::after').content}))""",
    )
    assert len(contacts) >= 3
    for contact in contacts:
        scheme, _, value = contact["href"].partition(":")
        printed = contact["text"] + contact["after"]
        if scheme in {"tel", "sms"}:
            assert value in re.sub(r"[^0-9+]", "", printed), contact
        elif scheme == "mailto":
            assert value in printed, contact
        else:
            assert contact["href"] in printed, contact


def test_printed_results_are_dated_fit_two_pages_and_list_every_contact(
    contexts: Contexts, screenshot_dir: Callable[[str], Path]
) -> None:
    # Every tendency elevated gives the most background reading; the others are shorter.
    for scores in ((2, 2, 2), (7, 2, 7), (7, 7, 7)):
        page = results_for(contexts, answers_for(*scores))
        assert page.locator("#crisis-notice").count() == 0
        assert pdf_pages(page, screenshot_dir("results-print").with_suffix(".pdf")) <= 2, scores
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 716, "height": 1000})
    page.screenshot(path=str(screenshot_dir("results-print")), full_page=True)

    page.emulate_media(media="print")
    date = page.locator(".result-date time")
    expect(date).to_be_visible()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date.get_attribute("datetime") or "")
    assert re.search(r"\d{1,2} [A-Z][a-z]+ \d{4}", date.inner_text())
    assert_contacts_print_with_their_number_or_address(page)
    # The chart's words print once: no outline stroke drawn as a second copy.
    strokes = page.eval_on_selector_all(
        "svg.chart text", "texts => texts.map(t => getComputedStyle(t).stroke)"
    )
    assert set(strokes) == {"none"}
    # Legend swatches are drawn, not CSS backgrounds a printer leaves out.
    assert page.locator(".legend li svg.swatch").count() == 5
    assert page.locator(".legend span.swatch").count() == 0


def test_printed_results_with_the_notice_keep_it(contexts: Contexts) -> None:
    page = results_for(contexts, {**answers_for(4, 4, 4), "wb_now": 1})
    page.emulate_media(media="print")
    expect(page.locator("#crisis-notice")).to_be_visible()
    expect(page.locator("#crisis-notice .notice-action a[href^='tel:']")).to_be_visible()
    expect(page.locator(".result-date")).to_be_visible()
    assert page.locator("#crisis-notice a.contact").count() >= 2
    assert_contacts_print_with_their_number_or_address(page)


# The questionnaire ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_enter_on_a_radio_sends_nothing_and_back_comes_before_next(
    contexts: Contexts, width: int
) -> None:
    context = contexts.open(width=width)
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/2")
    first = page.locator("form.items input[type=radio]").first
    first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_timeout(400)
    assert page.url.endswith("/questionnaire/2"), "Enter did not send the page"
    # Focus order follows the order on screen: Back (left), then Next (right).
    last_group = page.locator("form.items fieldset").last.locator("input[type=radio]").first
    last_group.focus()
    page.keyboard.press("Tab")
    expect(page.locator("button[value=back]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("button[value=next]")).to_be_focused()
    back = page.locator("button[value=back]").bounding_box()
    forward = page.locator("button[value=next]").bounding_box()
    assert back is not None
    assert forward is not None
    assert back["x"] < forward["x"]


def test_without_scripts_enter_points_out_the_open_statements(contexts: Contexts) -> None:
    context = contexts.open(javascript=False)
    page = context.new_page()
    start(page)
    page.goto("/questionnaire/2")
    page.locator("form.items input[type=radio]").first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_url("**/questionnaire/2?open=1#open-items")
    summary = page.locator("#open-items")
    expect(summary).to_be_visible()
    links = summary.locator("a")
    assert links.count() == page.locator("form.items fieldset").count() - 1
    links.first.click()
    assert page.url.endswith("#item-" + (links.first.get_attribute("href") or "")[6:])
    page.locator("button[value=next]").click()
    page.wait_for_url("**/questionnaire/3")


def test_progress_follows_autosave_and_the_check_is_no_part(contexts: Contexts) -> None:
    context = contexts.open()
    page = context.new_page()
    start(page)
    count = page.locator(".progress-count")
    expect(count).to_have_text(t("questionnaire.answered_of", answered=0, of=27))
    with page.expect_response("**/web/answers"):
        page.locator("form.items label.option").first.click()
    expect(count).to_have_text(t("questionnaire.answered_of", answered=1, of=27))
    expect(page.locator("h1 .part-of")).to_have_text(t("questionnaire.step_of", step=1, steps=4))
    page.goto("/questionnaire/5")
    expect(page.locator("h1 .part-of")).to_have_text(t("questionnaire.optional_heading"))
    assert "Part 5" not in page.content()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_code_to_copy_by_hand_is_shown_whole_and_opens_the_answers(
    contexts: Contexts, width: int
) -> None:
    context = contexts.open(width=width)
    page = context.new_page()
    start(page)
    code_field = page.locator("#resume-code")
    expect(code_field).to_be_visible()
    code = code_field.input_value()
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-)+[0-9A-HJKMNP-TV-Z]{1,4}", code)
    whole = code_field.evaluate(
        "el => el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1"
    )
    assert whole, "the whole code is in view, without scrolling the field"
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    cookie = next(c["value"] for c in context.cookies() if c["name"] == SESSION_COOKIE)

    elsewhere = contexts.open(width=width)
    other = elsewhere.new_page()
    other.goto("/resume")
    other.fill("#code", code.lower().replace("-", " "))
    field = other.locator("#code").bounding_box()
    button = other.locator(".resume-form button[type=submit]").bounding_box()
    assert field is not None
    assert button is not None
    assert field["width"] >= min(width - 40, 600)
    assert button["height"] >= 44
    other.locator(".resume-form button[type=submit]").click()
    other.wait_for_url("**/questionnaire/1")
    assert next(c["value"] for c in elsewhere.cookies() if c["name"] == SESSION_COOKIE) == cookie
