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
REGIONS: tuple[Region, ...] = ("neither", "anxiety", "avoidance", "both")

# Drawing units (the viewBox). The plot area leaves room for ticks and axis labels.
MAP_SIZE = 400
MAP_LEFT, MAP_RIGHT, MAP_TOP, MAP_BOTTOM = 64, 384, 16, 336
BAR_WIDTH, BAR_HEIGHT = 400, 104
BAR_LEFT, BAR_RIGHT, BAR_TOP, BAR_BOTTOM = 16, 384, 34, 58
MOST_TICKS = 11
TICK_STEPS = (1, 2, 5, 10, 20, 25, 50)


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
        """Every point of a short scale; on a long one (up to 255 points) a round step, so
        that at most ``MOST_TICKS`` numbers stand along the axis."""
        span = self.high - self.low
        step = next((s for s in TICK_STEPS if span / s < MOST_TICKS), span)
        first = -(-self.low // step) * step
        values = sorted({self.low, *range(first, self.high + 1, step), self.high})
        return tuple((value, self.at(value)) for value in values if self._clear(value, step))

    def _clear(self, value: int, step: int) -> bool:
        """The ends always stand; a round number too close to an end is left out."""
        if value in (self.low, self.high) or step == 1:
            return True
        return min(value - self.low, self.high - value) >= step / 2


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
    scales = [definition.scales[item.scale] for item in definition.items_of(dimension_id)]
    if not scales:
        return None
    return min(scale.min for scale in scales), max(scale.max for scale in scales)


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


# Labels on the map -----------------------------------------------------------------------------
#
# Text is placed from an estimate of its size in drawing units (the viewBox scales with the
# page, so the layout is the same at every width). The estimate is generous: bold text is taken
# as 0.66 of its font size per character, plus the white outline drawn around it.

REGION_FONT, POINT_FONT = 14, 17
CHAR_WIDTH = 0.66
OUTLINE = 3.0
POINT_CLEAR = 12.0
LINE = 22.0


@dataclass(frozen=True, slots=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return not (
            self.right <= other.left
            or other.right <= self.left
            or self.bottom <= other.top
            or other.bottom <= self.top
        )

    def inside(self, area: Box) -> bool:
        return (
            self.left >= area.left
            and self.right <= area.right
            and self.top >= area.top
            and self.bottom <= area.bottom
        )


Anchor = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class Label:
    """A piece of text on the map: ``x``/``y`` are its anchor and baseline, as SVG draws it."""

    key: str
    text: str
    x: float
    y: float
    anchor: Anchor
    font: int

    @property
    def box(self) -> Box:
        width = len(self.text) * self.font * CHAR_WIDTH + 2 * OUTLINE
        left = self.x - OUTLINE if self.anchor == "start" else self.x - width + OUTLINE
        return Box(
            left, self.y - self.font - OUTLINE, left + width, self.y + 0.3 * self.font + OUTLINE
        )


@dataclass(frozen=True, slots=True)
class MapLabels:
    regions: tuple[Label, ...]
    you: Label | None


def _region_spots(picture: MapPicture, region: Region, text: str) -> list[Label]:
    """Where a region's name may go, best first: its corner of the plot, then further in."""
    x, y = picture.x, picture.y
    left = region in ("neither", "anxiety")
    top = region in ("anxiety", "both")
    anchor: Anchor = "start" if left else "end"
    edge_x = x.start + 8 if left else x.end - 8
    inward = 1 if top else -1
    base_y = y.end + 22 if top else y.start - 10
    spots = []
    for shift_x in (0.0, 40.0, 80.0):
        for lines in range(4):
            spots.append(
                Label(
                    region,
                    text,
                    edge_x + (shift_x if left else -shift_x),
                    base_y + inward * lines * LINE,
                    anchor,
                    REGION_FONT,
                )
            )
    return spots


def _you_spots(picture: MapPicture, text: str) -> list[Label]:
    assert picture.point is not None
    px, py = picture.point
    gap = 14.0
    spots = []
    for dx, dy in ((1, -1), (-1, -1), (1, 1), (-1, 1), (1, 0), (-1, 0)):
        anchor: Anchor = "start" if dx > 0 else "end"
        baseline = py + 6 if dy == 0 else (py - gap if dy < 0 else py + gap + POINT_FONT)
        spots.append(Label("you", text, px + dx * gap, baseline, anchor, POINT_FONT))
    return spots


def place_labels(picture: MapPicture, regions: dict[Region, str], you: str) -> MapLabels:
    """Region names and the point's label, placed so that no two overlap, none covers the
    point, and the point's label stays inside the plot."""
    x, y = picture.x, picture.y
    plot = Box(x.start, y.end, x.end, y.start)
    taken: list[Box] = []
    you_choices: list[Label | None] = [None]
    if picture.point is not None:
        px, py = picture.point
        taken.append(Box(px - POINT_CLEAR, py - POINT_CLEAR, px + POINT_CLEAR, py + POINT_CLEAR))
        you_choices = [spot for spot in _you_spots(picture, you) if spot.box.inside(plot)]
    for you_label in you_choices:
        placed: list[Label] = []
        boxes = taken + ([you_label.box] if you_label else [])
        for region, text in regions.items():
            spot = next(
                (
                    s
                    for s in _region_spots(picture, region, text)
                    if s.box.inside(plot) and not any(s.box.overlaps(b) for b in boxes)
                ),
                None,
            )
            if spot is None:
                break
            placed.append(spot)
            boxes.append(spot.box)
        else:
            return MapLabels(tuple(placed), you_label)
    # Nothing fits everywhere (very long translations): the corners, as a last resort.
    first = you_choices[0] if you_choices else None
    return MapLabels(
        tuple(_region_spots(picture, r, text)[0] for r, text in regions.items()), first
    )


# The middle half of a norm sample -------------------------------------------------------------

MIN_SPAN = 3.0
"""A band narrower than this (a sample whose quartiles share one score) is drawn this wide."""


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of an axis in drawing units, ``start < end`` whichever way the axis runs."""

    start: float
    end: float

    @property
    def size(self) -> float:
        return round(self.end - self.start, 2)


def span(on: Axis, scores: tuple[float, float]) -> Span:
    """Where the scores from ``scores[0]`` to ``scores[1]`` lie along ``on``."""
    first, second = on.at(scores[0]), on.at(scores[1])
    start, end = min(first, second), max(first, second)
    if end - start < MIN_SPAN:
        middle = (start + end) / 2
        start, end = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    return Span(round(start, 2), round(end, 2))


@dataclass(frozen=True, slots=True)
class MiddleHalf:
    """The middle half of the norm sample on the map (a rectangle) and on the bar."""

    map_x: Span | None
    map_y: Span | None
    bar: Span | None
