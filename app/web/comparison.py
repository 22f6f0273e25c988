"""What the results page says about the norms a result carries: where each score stands among
the people in the norm sample, in plain words, and the middle half of that sample on the map
and the bar.

Nothing is computed again here: the percentiles, their phrases and the middle half come with
the stored result (``scoring.norms``); this module only words and places them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.web.charts import BarPicture, MapPicture, MiddleHalf, span
from app.web.strings import Translator
from scoring.norms import NormComparison, NormSampleRef

PHRASE = re.compile(r"^(about|fewer than|more than) (\d+) in 100$")
PHRASE_KINDS = {"about": "about", "fewer than": "fewer", "more than": "more"}


@dataclass(frozen=True, slots=True)
class NormLine:
    dimension: str
    text: str


@dataclass(frozen=True, slots=True)
class NormsReport:
    lines: tuple[NormLine, ...]
    explanation: str
    middle: MiddleHalf
    legend: str


def _month(day: dt.date, t: Translator, with_year: bool) -> str:
    month = t.many("results.months")[day.month - 1]
    return t("results.norms.month_year", month=month, year=day.year) if with_year else month


def when(sample: NormSampleRef, t: Translator) -> str:
    """ "between March and November 2026", "since March 2026", or nothing."""
    since, until = sample.since, sample.until
    if since and until:
        same_year = since.year == until.year
        if same_year and since.month == until.month:
            return t("results.norms.in_month", month=_month(until, t, True))
        return t(
            "results.norms.between",
            since=_month(since, t, not same_year),
            until=_month(until, t, True),
        )
    if since:
        return t("results.norms.since", since=_month(since, t, True))
    if until:
        return t("results.norms.until", until=_month(until, t, True))
    return ""


def who(sample: NormSampleRef, t: Translator) -> str:
    """The people compared with: those who took this here, or a published study's sample."""
    key = "results.norms.who_here" if sample.kind == "instance" else "results.norms.who_study"
    text = t(key, source=sample.source)
    dates = when(sample, t)
    return f"{text} {dates}" if dates else text


def _lower_first(label: str) -> str:
    return label[:1].lower() + label[1:]


def sentence(label: str, phrase: str, people: str, t: Translator) -> str:
    found = PHRASE.fullmatch(phrase)
    if found is None:
        return t("results.norms.line_other", label=_lower_first(label), phrase=phrase, who=people)
    kind = PHRASE_KINDS[found.group(1)]
    return t(
        f"results.norms.line_{kind}",
        label=_lower_first(label),
        number=found.group(2),
        who=people,
    )


def _number(value: float) -> str:
    return f"{value:.2f}"


def norms_report(
    norms: NormComparison | None,
    labels: Mapping[str, str],
    picture: MapPicture | None,
    bar: BarPicture | None,
    t: Translator,
) -> NormsReport | None:
    """The page's words and marks for the norms, or None when the result carries none."""
    if norms is None or not norms.dimensions:
        return None
    people = who(norms.sample, t)
    lines = []
    for dimension_id, place in norms.dimensions.items():
        text = sentence(labels.get(dimension_id, dimension_id), place.phrase, people, t)
        if place.middle_half is not None:
            low, high = place.middle_half
            text += " " + t("results.norms.middle_line", low=_number(low), high=_number(high))
        lines.append(NormLine(dimension_id, text))

    def middle_of(dimension_id: str | None) -> tuple[float, float] | None:
        place = norms.dimensions.get(dimension_id) if dimension_id else None
        return place.middle_half if place is not None else None

    map_x = map_y = bar_span = None
    if picture is not None:
        x_half, y_half = middle_of(picture.x.dimension), middle_of(picture.y.dimension)
        if x_half is not None and y_half is not None:
            map_x, map_y = span(picture.x, x_half), span(picture.y, y_half)
    if bar is not None:
        bar_half = middle_of(bar.axis.dimension)
        bar_span = span(bar.axis, bar_half) if bar_half is not None else None
    privacy = t("results.norms.privacy") if norms.sample.epsilon is not None else ""
    explanation = t("results.norms.explanation", n=f"{norms.sample.n:,}", who=people)
    return NormsReport(
        lines=tuple(lines),
        explanation=f"{explanation} {privacy}".strip(),
        middle=MiddleHalf(map_x, map_y, bar_span),
        legend=t("results.norms.legend"),
    )
