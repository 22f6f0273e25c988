"""A bar for each score the results page does not picture otherwise.

The map pictures the two dimensions behind the anxious and avoidant tendencies, and the
disorganization bar the one behind the disorganized tendency. Any other dimension (all of them,
for an instrument without those tendencies) gets a bar of its own along its scale, with the same
bands, its marker and, when the result carries norms, the middle half of the norm sample.
Nothing is scored here: scores and bands come from the stored result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.web.charts import BAR_LEFT, BAR_RIGHT, Axis, BarPicture, Span, axis, span
from app.web.strings import Translator
from scoring.definition import Definition
from scoring.result import ScoreResult


@dataclass(frozen=True, slots=True)
class ScoreBar:
    key: str
    """Names the drawing's parts in the page (``score-1-title``): unique, and free of the dots a
    dimension id may hold."""
    dimension: str
    label: str
    picture: BarPicture
    title: str
    description: str
    middle: Span | None


def dimension_axis(definition: Definition, dimension_id: str) -> Axis | None:
    """The axis of a scored dimension. A score kept per target (``partner.avoidance``) is drawn
    on the axis of the dimension it scores (``avoidance``)."""
    found = axis(definition, dimension_id, BAR_LEFT, BAR_RIGHT)
    if found is None and "." in dimension_id:
        found = axis(definition, dimension_id.rpartition(".")[2], BAR_LEFT, BAR_RIGHT)
    return found


def score_bars(
    definition: Definition,
    result: ScoreResult,
    pictured: frozenset[str],
    band_names: Mapping[str, str],
    t: Translator,
) -> tuple[ScoreBar, ...]:
    """Bars for the result's scores outside ``pictured``, in the result's order."""
    bars: list[ScoreBar] = []
    for dimension_id, score in result.scores.items():
        line = dimension_axis(definition, dimension_id)
        if dimension_id in pictured or line is None:
            continue
        key = f"score-{len(bars) + 1}"
        if score.mean is None or score.band is None:
            marker = None
            description = t("results.score_bar_missing", label=score.label)
        else:
            marker = line.at(score.mean)
            description = t(
                "results.score_bar_desc",
                label=score.label,
                score=f"{score.mean:.2f}",
                band=band_names.get(score.band, score.band),
                min=line.low,
                max=line.high,
            )
        place = result.norms.dimensions.get(dimension_id) if result.norms else None
        half = place.middle_half if place is not None else None
        bars.append(
            ScoreBar(
                key=key,
                dimension=dimension_id,
                label=score.label,
                picture=BarPicture(line, marker),
                title=t("results.score_bar_title", label=score.label),
                description=description,
                middle=span(line, half) if half is not None else None,
            )
        )
    return tuple(bars)
