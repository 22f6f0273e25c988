"""An instrument added as a file, in Chromium: chosen on the landing page, answered by clicking
(with autosave), and its results drawn as a bar per score. Every page it adds is checked as the
bundled pages are: axe (WCAG 2.2 AA and best practice), weight, width at 360 px, screenshots.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from any_instrument import ANSWERS, ID, ITEMS, write_instrument
from playwright.sync_api import expect
from tour import Tour
from webflow import Contexts

from app.web.strings import web_strings
from scoring.catalog import Catalog

S = web_strings()


def t(key: str, **values: object) -> str:
    return S.text("en", key, **values)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """The live server's catalog: the bundled questionnaire and the instrument beside it."""
    return Catalog.load([write_instrument(tmp_path / "definitions")])


def test_an_added_instrument_is_chosen_answered_and_shown_accessibly(
    contexts: Contexts, screenshot_dir: Callable[[str], Path]
) -> None:
    page = contexts.open().new_page()
    tour = Tour(page, screenshot_dir)

    page.goto("/")
    tour.check("any-landing-choice")
    page.get_by_role("link", name="Closeness pulse").click()
    page.wait_for_url(f"**/?questionnaire={ID}")
    expect(page.locator("h1")).to_have_text("Closeness pulse")
    tour.check("any-landing-chosen")
    page.locator(".start-form button[type=submit]").click()
    page.wait_for_url("**/questionnaire/1")
    tour.check("any-questionnaire-1")

    for step, items in ((1, ITEMS[:6]), (2, ITEMS[6:])):
        for item in items:
            with page.expect_response("**/web/answers"):
                page.locator(f'[id="item-{item}"] input[value="{ANSWERS[item]}"]').check()
        expect(page.locator("#progress-count")).to_have_text(
            t("questionnaire.answered_of", answered=6 * step, of=12)
        )
        if step == 1:
            page.locator("button[value=next]").click()
            page.wait_for_url("**/questionnaire/2")
            tour.check("any-questionnaire-2")
    page.locator("button[value=finish]").click()
    page.wait_for_url("**/results")
    tour.check("any-results")

    expect(page.locator("#score-1-marker")).to_be_visible()
    expect(page.locator("#score-2-marker")).to_be_visible()
    expect(page.locator(".chart-map")).to_have_count(0)
    assert tour.problems == []
    assert len(tour.weights) == 5
