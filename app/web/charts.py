"""Geometry of the results pictures: the anxiety x avoidance map and the disorganization bar.

Only drawing happens here. Scores, bands and thresholds come from the stored result and the
questionnaire definition; nothing is scored again. The templates draw the shapes with classes
and presentation attributes (no inline styles), and every picture carries a text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scoring.definition import Definition, Dimension, TendencyId

Region = Literal["neither", "anxiety", "avoidance", "both"]

# Drawing units (the viewBox). The plot area leaves room for ticks and axis labels.
MAP_SIZE = 400
MAP_LEFT, MAP_RIGHT, MAP_TOP, MAP_BOTTOM = 64, 384, 16, 336
BAR_WIDTH, BAR_HEIGHT = 400, 104
BAR_LEFT, BAR_RIGHT, BAR_TOP, BAR_BOTTOM = 16, 384, 34, 58


@dataclass(frozen=True, slots=True)
class Axis:
    """A dimension drawn along one axis: its range and thresholds in drawing units."""

    dimension: str
    low: int
    high: int
    moderate_from: float
    elevated_from: float
    start: float
    end: float

    def at(self, value: float) -> float:
        clamped = min(max(value, self.low), self.high)
        return round(
            self.start + (clamped - self.low) / (self.high - self.low) * (self.end - self.start), 2
        )

    @property
    def ticks(self) -> tuple[tuple[int, float], ...]:
        return tuple((value, self.at(value)) for value in range(self.low, self.high + 1))


@dataclass(frozen=True, slots=True)
class MapPicture:
    x: Axis
    y: Axis
    point: tuple[float, float] | None
    region: Region | None
    size: int = MAP_SIZE


@dataclass(frozen=True, slots=True)
class BarPicture:
    axis: Axis
    marker: float | None
    width: int = BAR_WIDTH
    height: int = BAR_HEIGHT
    top: int = BAR_TOP
    bottom: int = BAR_BOTTOM


def _dimension(definition: Definition, dimension_id: str) -> Dimension | None:
    return next((d for d in definition.dimensions if d.id == dimension_id), None)


def _range(definition: Definition, dimension_id: str) -> tuple[int, int] | None:
    items = definition.items_of(dimension_id)
    if not items:
        return None
    scale = definition.scales[items[0].scale]
    return scale.min, scale.max


def dimension_for(definition: Definition, tendency: TendencyId) -> str | None:
    rule = next((t for t in definition.tendencies if t.id == tendency), None)
    return rule.dimension if rule is not None else None


def axis(definition: Definition, dimension_id: str, start: float, end: float) -> Axis | None:
    dimension = _dimension(definition, dimension_id)
    bounds = _range(definition, dimension_id)
    if dimension is None or bounds is None:
        return None
    return Axis(
        dimension=dimension_id,
        low=bounds[0],
        high=bounds[1],
        moderate_from=dimension.bands.moderate_from,
        elevated_from=dimension.bands.elevated_from,
        start=start,
        end=end,
    )


def anxiety_avoidance_map(
    definition: Definition, means: dict[str, float | None], elevated: dict[str, bool]
) -> MapPicture | None:
    """Avoidance across, anxiety upwards (the usual layout of the two attachment dimensions)."""
    anxiety = dimension_for(definition, "anxious")
    avoidance = dimension_for(definition, "avoidant")
    if anxiety is None or avoidance is None:
        return None
    x = axis(definition, avoidance, MAP_LEFT, MAP_RIGHT)
    y = axis(definition, anxiety, MAP_BOTTOM, MAP_TOP)
    if x is None or y is None:
        return None
    x_mean, y_mean = means.get(avoidance), means.get(anxiety)
    if x_mean is None or y_mean is None:
        return MapPicture(x, y, None, None)
    high_x, high_y = elevated.get(avoidance, False), elevated.get(anxiety, False)
    region: Region = (
        "both"
        if high_x and high_y
        else "anxiety"
        if high_y
        else "avoidance"
        if high_x
        else "neither"
    )
    return MapPicture(x, y, (x.at(x_mean), y.at(y_mean)), region)


def disorganization_bar(
    definition: Definition, means: dict[str, float | None]
) -> BarPicture | None:
    dimension = dimension_for(definition, "disorganized")
    if dimension is None:
        return None
    bar = axis(definition, dimension, BAR_LEFT, BAR_RIGHT)
    if bar is None:
        return None
    mean = means.get(dimension)
    return BarPicture(bar, bar.at(mean) if mean is not None else None)
