"""The results page with norms, in real Chromium at 1280 and 360 px and on A4 paper: the
middle half of the norm sample is drawn on the map and the bar, the map's labels still never
overlap and the point stays on top, and the page still prints on at most two pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from normed import normed_catalog
from playwright.sync_api import Page, expect
from test_browser_results import (
    WIDTHS,
    answers_for,
    overlap,
    pdf_pages,
    results_for,
    t,
    text_boxes,
)
from webflow import Contexts

from scoring.catalog import Catalog

CORNERS = [(7, 7), (1, 1), (1, 7), (7, 1), (4, 4)]
"""(anxiety, avoidance): every corner of the map and the middle, where the band lies."""


@pytest.fixture(scope="module")
def catalog(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The bundled questionnaire with norms built here: the server of these tests uses it."""
    return normed_catalog(catalog, tmp_path_factory.mktemp("questionnaires"), kind="instance")


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        outer["left"] - 1 <= inner["left"]
        and inner["right"] <= outer["right"] + 1
        and outer["top"] - 1 <= inner["top"]
        and inner["bottom"] <= outer["bottom"] + 1
    )


def assert_middle_half_drawn(page: Page) -> None:
    """A visible box inside the map's plot and one inside the bar, with a legend entry."""
    band = text_boxes(page, "#map-middle-half")[0]
    plot = text_boxes(page, "svg.chart-map rect.plot-frame")[0]
    assert band["right"] - band["left"] > 10, band
    assert band["bottom"] - band["top"] > 10, band
    assert inside(band, plot), (band, plot)
    bar_band = text_boxes(page, "#bar-middle-half")[0]
    bar = text_boxes(page, "svg.chart-bar rect.plot-frame")[0]
    assert bar_band["right"] - bar_band["left"] > 10, bar_band
    assert inside(bar_band, bar), (bar_band, bar)
    expect(page.locator("svg.chart-map #map-middle-half")).to_be_visible()
    expect(page.locator("svg.chart-bar #bar-middle-half")).to_be_visible()
    expect(page.locator(".legend li[data-shade=norms]").first).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_middle_half_is_drawn_and_labels_never_overlap(
    contexts: Contexts, width: int, screenshot_dir: Callable[[str], Path]
) -> None:
    for anxiety, avoidance in CORNERS:
        page = results_for(contexts, answers_for(anxiety, avoidance, 2), width)
        assert_middle_half_drawn(page)
        texts = text_boxes(page, "svg.chart-map text")
        assert len(texts) >= 4 + 14 + 2 + 1, "ticks, axis names, region names and You"
        for index, first in enumerate(texts):
            for second in texts[index + 1 :]:
                assert not overlap(first, second), (anxiety, avoidance, first, second)
        bar_texts = text_boxes(page, "svg.chart-bar text")
        for index, first in enumerate(bar_texts):
            for second in bar_texts[index + 1 :]:
                assert not overlap(first, second), (anxiety, avoidance, first, second)
        # The point is drawn over the band: what is at its centre is the point itself.
        on_top = page.evaluate(
            """() => {
                const point = document.querySelector('#map-point');
                point.scrollIntoView({block: 'center'});
                const r = point.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                return hit && hit.id;
            }"""
        )
        assert on_top == "map-point", (anxiety, avoidance, on_top)
        expect(page.locator(".norm-lines li")).to_have_count(3)
        if (anxiety, avoidance) == (4, 4):
            page.screenshot(path=str(screenshot_dir(f"results-norms-{width}")), full_page=True)
        page.context.close()


def test_with_norms_the_results_still_print_on_two_pages(
    contexts: Contexts, screenshot_dir: Callable[[str], Path]
) -> None:
    for scores in ((2, 2, 2), (7, 2, 7), (7, 7, 7)):
        page = results_for(contexts, answers_for(*scores))
        assert page.locator("#crisis-notice").count() == 0
        keep = screenshot_dir("results-norms-print").with_suffix(".pdf")
        assert pdf_pages(page, keep) <= 2, scores
        page.emulate_media(media="print")
        assert_middle_half_drawn(page)
        expect(page.locator(".norms-explanation")).to_be_visible()
        assert t("results.norms.heading") in page.inner_text("main")
        page.context.close()
