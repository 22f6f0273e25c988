"""The results page over HTTP with norms: each dimension in plain words ("higher than about 70
of every 100 people ..."), the sample's N and dates, one sentence on what norms are and are
not, and the middle half of the sample on the map and the bar. Without norms none of it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from normed import DATES, N, norm_sample, normed_catalog
from webflow import answer_all, api_read, page_text, start

from app.config import Settings
from app.main import create_app
from app.web.charts import MIN_SPAN, anxiety_avoidance_map, disorganization_bar, span
from app.web.comparison import norms_report
from app.web.strings import Translator, web_strings
from scoring.catalog import Catalog
from scoring.norms import NormComparison, NormPercentile, NormSampleRef

S = web_strings()
REVERSED = {"anx03", "anx07", "avo02", "avo05", "avo08", "dis04", "dis08"}
LABELS = {
    "anxiety": "attachment anxiety",
    "avoidance": "attachment avoidance",
    "disorganization": "disorganization",
}


def t(key: str, **values: object) -> str:
    return S.text("en", key, **values)


def answers(anxiety: int, avoidance: int, disorganization: int) -> dict[str, int]:
    wanted = {"anx": anxiety, "avo": avoidance, "dis": disorganization}
    return {
        f"{prefix}{n:02d}": 8 - wanted[prefix] if f"{prefix}{n:02d}" in REVERSED else wanted[prefix]
        for prefix in wanted
        for n in range(1, 10)
    }


def _web(settings: Settings, catalog: Catalog) -> Iterator[TestClient]:
    app = create_app(settings, catalog)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as http:
        yield http
    app.state.engine.dispose()


@pytest.fixture
def study_web(settings: Settings, catalog: Catalog, tmp_path: Path) -> Iterator[TestClient]:
    yield from _web(settings, normed_catalog(catalog, tmp_path))


@pytest.fixture
def instance_web(settings: Settings, catalog: Catalog, tmp_path: Path) -> Iterator[TestClient]:
    yield from _web(settings, normed_catalog(catalog, tmp_path, kind="instance"))


def results(web: TestClient, given: dict[str, int]) -> tuple[str, str, dict[str, Any]]:
    """The results page's HTML, its text, and the stored result."""
    token = start(web)
    assert answer_all(web, token, given).headers["location"] == "/results"
    html = web.get("/results").text
    return html, " ".join(" ".join(page_text(html).text).split()), api_read(web).json()["result"]


def expected_line(dimension: str, place: dict[str, Any], who: str) -> str:
    number = re.search(r"\d+", place["phrase"])
    assert number is not None
    kind = place["phrase"].split(" ")[0]
    key = {"about": "line_about", "fewer": "line_fewer", "more": "line_more"}[kind]
    return t(f"results.norms.{key}", label=LABELS[dimension], number=number.group(), who=who)


def test_with_study_norms_each_score_is_placed_in_words_with_n_and_dates(
    study_web: TestClient,
) -> None:
    html, text, result = results(study_web, answers(6, 2, 3))
    who = f"{t('results.norms.who_study', source='A test sample')} {DATES}"
    norms = result["norms"]
    assert norms["sample"]["n"] == N
    for dimension, place in norms["dimensions"].items():
        assert expected_line(dimension, place, who) in text
        low, high = place["middle_half"]
        assert t("results.norms.middle_line", low=f"{low:.2f}", high=f"{high:.2f}") in text
    # A high anxiety score sits high in a sample spread over the whole scale, low avoidance low.
    assert "Your attachment anxiety score is higher than about 8" in text
    assert norms["dimensions"]["avoidance"]["percentile"] < 20
    # One sentence on what norms are and are not, with N and the dates.
    assert " ".join(t("results.norms.explanation", n=f"{N:,}", who=who).split()) in text
    assert "not a diagnosis" in text
    assert "people who chose to take this online are not everyone" in text
    assert t("results.norms.privacy") not in text  # a published study carries no DP noise
    # The middle half is marked on the map and on the bar, and the map's legend says so.
    assert 'id="map-middle-half"' in html
    assert 'id="bar-middle-half"' in html
    assert html.count(t("results.norms.legend")) == 2


def test_norms_built_here_say_here_and_that_they_carry_noise(instance_web: TestClient) -> None:
    _, text, result = results(instance_web, answers(4, 4, 2))
    who = f"{t('results.norms.who_here')} {DATES}"
    for dimension, place in result["norms"]["dimensions"].items():
        assert expected_line(dimension, place, who) in text
    assert "people who took this here between March and October 2026" in text
    assert t("results.norms.privacy") in text


def test_the_middle_half_is_where_the_sample_scored_between_its_quartiles(
    study_web: TestClient, catalog: Catalog
) -> None:
    html, _, result = results(study_web, answers(4, 4, 2))
    sample = norm_sample(catalog)
    for dimension, place in result["norms"]["dimensions"].items():
        ordered = sorted(sample[dimension])
        low, high = place["middle_half"]
        # Within one answer step (1/9: nine statements per dimension) of the exact quartiles.
        assert low == pytest.approx(ordered[len(ordered) // 4], abs=1 / 9 + 0.01)
        assert high == pytest.approx(ordered[3 * len(ordered) // 4], abs=1 / 9 + 0.01)
    # Drawn where those scores are: avoidance across 64..384, anxiety up 336..16.
    box = re.search(
        r'<rect x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="([0-9.]+)" '
        r'class="norm-band" id="map-middle-half"',
        html,
    )
    assert box is not None
    x, y, width, height = (float(v) for v in box.groups())
    avo_low, avo_high = result["norms"]["dimensions"]["avoidance"]["middle_half"]
    anx_low, anx_high = result["norms"]["dimensions"]["anxiety"]["middle_half"]
    assert x == pytest.approx(64 + (avo_low - 1) / 6 * 320, abs=0.02)
    assert x + width == pytest.approx(64 + (avo_high - 1) / 6 * 320, abs=0.02)
    assert y == pytest.approx(336 - (anx_high - 1) / 6 * 320, abs=0.02)
    assert y + height == pytest.approx(336 - (anx_low - 1) / 6 * 320, abs=0.02)


def test_without_norms_the_page_says_nothing_of_them(web: TestClient) -> None:
    html, text, result = results(web, answers(6, 2, 3))
    assert result.get("norms") is None
    assert t("results.norms.heading") not in text
    assert "of every 100" not in text
    assert "are not everyone" not in text
    assert "norm-band" not in html
    assert t("results.norms.legend") not in html


def test_a_middle_half_on_one_score_is_still_drawn_wide_enough_to_see(catalog: Catalog) -> None:
    definition = catalog.definitions["attachment-self-reflection"].definition
    bar = disorganization_bar(definition, {"disorganization": 2.0})
    assert bar is not None
    one_score = span(bar.axis, (3.0, 3.0))
    assert one_score.size == MIN_SPAN
    assert (one_score.start + one_score.end) / 2 == pytest.approx(bar.axis.at(3.0))
    wide = span(bar.axis, (2.0, 4.0))
    assert (wide.start, wide.end) == (bar.axis.at(2.0), bar.axis.at(4.0))


def test_a_result_stored_without_the_middle_half_keeps_its_words_and_draws_no_box(
    catalog: Catalog,
) -> None:
    definition = catalog.definitions["attachment-self-reflection"].definition
    means: dict[str, float | None] = {"anxiety": 5.0, "avoidance": 2.0, "disorganization": 2.0}
    picture = anxiety_avoidance_map(definition, means, {})
    bar = disorganization_bar(definition, means)
    stored = NormComparison(
        sample=NormSampleRef(
            n=812,
            since=dt.date(2026, 3, 1),
            until=dt.date(2026, 11, 20),
            source="this instance",
            kind="instance",
            built_on=dt.date(2026, 11, 21),
            epsilon=1.0,
        ),
        dimensions={
            "anxiety": NormPercentile(percentile=70, low=64, high=76, phrase="about 70 in 100")
        },
    )
    report = norms_report(
        stored, {"anxiety": "Attachment anxiety"}, picture, bar, Translator(S, "en")
    )
    assert report is not None
    assert [line.text for line in report.lines] == [
        "Your attachment anxiety score is higher than about 70 of every 100 people who took "
        "this here between March and November 2026."
    ]
    assert "812 people" in report.explanation
    assert report.middle.map_x is None
    assert report.middle.bar is None
