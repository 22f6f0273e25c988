"""What each page shows, assembled from the services' answers and the questionnaire data.

These builders only arrange and word things. Scores, bands, tendencies and crisis notices all
come from the response services (``app.services.responses``); the questionnaire text comes
from ``app.services.questionnaires.render``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from app.schemas.questionnaires import QuestionnaireView
from app.schemas.responses import ResponseView
from app.services import questionnaires as questionnaire_service
from app.services.locale import RequestLocale
from app.web.charts import (
    REGIONS,
    BarPicture,
    MapLabels,
    MapPicture,
    anxiety_avoidance_map,
    disorganization_bar,
    place_labels,
)
from app.web.comparison import NormsReport, norms_report
from app.web.markup import Block, blocks
from app.web.notice import countries, emergency_action
from app.web.pages import NumberedItem, QuestionPage, plan
from app.web.score_bars import ScoreBar, score_bars
from app.web.security import BrowserSession
from app.web.strings import Translator
from scoring.catalog import Catalog
from scoring.definition import Definition, Localized
from scoring.engine import score_dimensions
from scoring.loading import LoadedDefinition
from scoring.result import PsychoeducationSection, ScoreResult
from scoring.submitting import shortfall

# Beside an acute or urgent notice the results open with the way to support, and words written
# for a secure pattern come last, so they never read as "you are fine" next to a crisis.
SERIOUS_LEVELS = frozenset({"acute", "urgent"})
FIRST_BESIDE_CRISIS = ("seeking-support",)
LAST_BESIDE_CRISIS = ("secure-pattern",)


def localized(text: Localized | None, language: str) -> str:
    if not text:
        return ""
    return text.get(language) or text.get("en") or next(iter(text.values()))


@dataclass(frozen=True, slots=True)
class Layout:
    """A questionnaire in one language, cut into pages."""

    loaded: LoadedDefinition
    view: QuestionnaireView
    pages: tuple[QuestionPage, ...]

    @property
    def definition(self) -> Definition:
        return self.loaded.definition

    @property
    def required_pages(self) -> int:
        return sum(1 for page in self.pages if not page.section.optional)

    def page(self, step: int) -> QuestionPage | None:
        return self.pages[step - 1] if 1 <= step <= len(self.pages) else None


def layout(loaded: LoadedDefinition, language: str) -> Layout:
    view = questionnaire_service.render(loaded, RequestLocale(header_languages=(language,)))
    return Layout(loaded, view, plan(view))


@dataclass(frozen=True, slots=True)
class MissingDimension:
    label: str
    answered: int
    of: int
    needed: int


def missing_dimensions(layout: Layout, answers: Mapping[str, int]) -> tuple[MissingDimension, ...]:
    """Dimensions whose answers stop submitting, in the engine's own terms (by the rule of
    :mod:`scoring.submitting`: a relationship left out entirely stops nothing)."""
    definition = layout.definition
    short = shortfall(definition, score_dimensions(definition, answers))
    labels = {dimension.id: dimension.label for dimension in definition.dimensions}
    return tuple(
        MissingDimension(
            localized(labels[score.dimension], layout.view.language),
            score.answered,
            score.of,
            score.needed,
        )
        for score in short.dimensions
    )


def short_step(layout: Layout, answers: Mapping[str, int]) -> int | None:
    """The first page with an open statement of a dimension that stops submitting (by
    :func:`missing_dimensions`' rule), or None when there is none."""
    definition = layout.definition
    scores = score_dimensions(definition, answers)
    short = {score.dimension for score in shortfall(definition, scores).dimensions}
    dimension_of = {item.id: item.dimension for item in definition.items}
    for current in layout.pages:
        if any(dimension_of.get(n.item.id) in short for n in current.unanswered(answers)):
            return current.step
    return None


def help_context(
    catalog: Catalog, country: str | None, response: ResponseView | None, t: Translator
) -> dict[str, object]:
    """The help page: the emergency action first, then the services for the response's level
    (urgent when there is none), for the country chosen or known."""
    level = response.crisis.level if response and response.crisis else "urgent"
    return {
        "title": t("help.title"),
        "message": catalog.crisis.help(country, t.language).message,
        "emergency": emergency_action(catalog.crisis.resources_for("acute", country), t),
        "resources": catalog.crisis.resources_for(level, country),
        "country": country if country and catalog.crisis.knows(country) else "",
        "countries": countries(catalog),
    }


@dataclass(frozen=True, slots=True)
class ResumeOffer:
    """The resume link and code, shown once, on the first page after starting."""

    url: str
    session: BrowserSession


@dataclass(frozen=True, slots=True)
class PartOf:
    """Where a page sits: "Part 2 of 4" for the statements; the optional check is no part."""

    number: int | None
    of: int


def part_of(layout: Layout, step: int) -> PartOf:
    current = layout.page(step)
    assert current is not None
    if current.section.optional:
        return PartOf(None, layout.required_pages)
    return PartOf(step, layout.required_pages)


def questionnaire_context(
    layout: Layout,
    step: int,
    response: ResponseView,
    t: Translator,
    *,
    resume: ResumeOffer | None,
    missing: bool,
    open_here: bool,
) -> dict[str, object]:
    """Everything ``questionnaire.html`` shows for one page.

    Every page has its own title and ``h1``: the section's title with "Part N of M" (the
    statements) or "Optional" (the wellbeing check). ``missing`` lists what stops finishing;
    ``open_here`` lists this page's open statements after a form was sent without a button."""
    current = layout.page(step)
    assert current is not None
    part = part_of(layout, step)
    section = current.section.title
    if part.number is None:
        title = t("questionnaire.optional_title", section=section)
    else:
        title = t("questionnaire.page_title", step=part.number, steps=part.of, section=section)
    open_items: tuple[NumberedItem, ...] = ()
    if missing or open_here:
        open_items = current.unanswered(response.answers)
    return {
        "title": title,
        "page": current,
        "part": part,
        "last": step == len(layout.pages),
        "answers": response.answers,
        "progress": response.progress,
        "notice": response.crisis,
        "has_session": True,
        "resume": resume,
        "missing": missing_dimensions(layout, response.answers) if missing else (),
        "unanswered": open_items,
        "open_here": open_here and not missing and bool(open_items),
    }


@dataclass(frozen=True, slots=True)
class ScoreRow:
    dimension: str
    label: str
    score: str | None
    band: str | None
    borderline: bool
    answered: int
    of: int


@dataclass(frozen=True, slots=True)
class TendencyLine:
    label: str
    elevated: bool
    band: str | None
    """The band's id (low, moderate, elevated), so the words can say "moderate"."""
    primary: bool
    borderline: bool
    description: str


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    blocks: tuple[Block, ...]
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResultsPage:
    result: ScoreResult
    title: str
    version: str
    rows: tuple[ScoreRow, ...]
    tendencies: tuple[TendencyLine, ...]
    secure: bool
    map: MapPicture | None
    map_labels: MapLabels | None
    bar: BarPicture | None
    map_description: str
    bar_description: str
    band_names: Mapping[str, str]
    sections: tuple[Section, ...]
    beside_crisis: bool
    """An acute or urgent notice is shown: the page opens with support, not reassurance."""
    date: str | None = None
    """The day the result was made (a printed or saved copy says when it is from)."""
    date_iso: str | None = None
    norms: NormsReport | None = None
    """Where the scores stand in a norm sample, when the result carries norms."""
    bars: tuple[ScoreBar, ...] = ()
    """A bar for each score neither the map nor the disorganization bar pictures."""


def _date(moment: dt.datetime | None, t: Translator) -> str | None:
    if moment is None:
        return None
    return t(
        "results.date",
        day=moment.day,
        month=t.many("results.months")[moment.month - 1],
        year=moment.year,
    )


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _section_order(
    sections: tuple[PsychoeducationSection, ...], beside_crisis: bool
) -> list[PsychoeducationSection]:
    if not beside_crisis:
        return list(sections)

    def rank(section: PsychoeducationSection) -> int:
        if section.id in FIRST_BESIDE_CRISIS:
            return 0
        return 2 if section.id in LAST_BESIDE_CRISIS else 1

    return sorted(sections, key=rank)


def results_page(
    catalog: Catalog, layout: Layout, response: ResponseView, t: Translator
) -> ResultsPage:
    result = response.result
    assert result is not None, "only a submitted response has results"
    language = layout.view.language
    definition = layout.definition
    wording = catalog.content.wording(result.language) or catalog.content.wording("en")
    band_names: Mapping[str, str] = wording.band_names if wording is not None else {}
    descriptions = {d.id: localized(d.description, language) for d in definition.dimensions}

    rows = tuple(
        ScoreRow(
            dimension=dimension_id,
            label=score.label,
            score=_number(score.mean),
            band=band_names.get(score.band, score.band) if score.band else None,
            borderline=score.borderline,
            answered=score.answered,
            of=score.of,
        )
        for dimension_id, score in result.scores.items()
    )
    tendencies = tuple(
        TendencyLine(
            label=tendency.label,
            elevated=tendency.elevated,
            band=tendency.band,
            primary=result.primary_tendency == tendency.id,
            borderline=tendency.borderline,
            description=descriptions.get(tendency.dimension, ""),
        )
        for tendency in result.tendencies
    )
    means = {dimension_id: score.mean for dimension_id, score in result.scores.items()}
    elevated = {tendency.dimension: tendency.elevated for tendency in result.tendencies}
    picture = anxiety_avoidance_map(definition, means, elevated)
    bar = disorganization_bar(definition, means)

    def band_of(dimension_id: str) -> str:
        score = result.scores.get(dimension_id)
        band = score.band if score is not None else None
        return band_names.get(band, band) if band else t("results.no_score")

    map_description = t("results.map_missing")
    if picture is not None and picture.point is not None and picture.region is not None:
        map_description = t(
            "results.map_desc",
            anxiety=_number(means[picture.y.dimension]),
            anxiety_band=band_of(picture.y.dimension),
            avoidance=_number(means[picture.x.dimension]),
            avoidance_band=band_of(picture.x.dimension),
            min=picture.x.low,
            max=picture.x.high,
            region=t(f"results.region_sentence.{picture.region}"),
        )
    bar_description = ""
    if bar is not None and bar.marker is not None:
        bar_description = t(
            "results.bar_desc",
            score=_number(means[bar.axis.dimension]),
            band=band_of(bar.axis.dimension),
            min=bar.axis.low,
            max=bar.axis.high,
        )
    beside_crisis = response.crisis is not None and response.crisis.level in SERIOUS_LEVELS
    return ResultsPage(
        result=result,
        title=localized(definition.title, language),
        version=result.questionnaire.version,
        rows=rows,
        tendencies=tendencies,
        secure=result.primary_tendency == "secure",
        map=picture,
        map_labels=place_labels(
            picture, {r: t(f"results.region.{r}") for r in REGIONS}, t("results.you")
        )
        if picture is not None
        else None,
        bar=bar,
        map_description=map_description,
        bar_description=bar_description,
        band_names=band_names,
        sections=tuple(
            Section(section.title, blocks(section.body), section.references)
            for section in _section_order(result.psychoeducation, beside_crisis)
        ),
        beside_crisis=beside_crisis,
        date=_date(response.submitted_at, t),
        date_iso=response.submitted_at.date().isoformat() if response.submitted_at else None,
        norms=norms_report(
            result.norms,
            {dimension_id: score.label for dimension_id, score in result.scores.items()},
            picture,
            bar,
            t,
        ),
        bars=score_bars(definition, result, _pictured(picture, bar), band_names, t),
    )


def _pictured(picture: MapPicture | None, bar: BarPicture | None) -> frozenset[str]:
    axes = (picture.x, picture.y) if picture is not None else ()
    return frozenset(a.dimension for a in (*axes, *((bar.axis,) if bar else ())))
