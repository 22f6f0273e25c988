"""Dimension scores from packed codes, by the scoring engine's own rules.

A response's score on a dimension is the mean of its keyed answers to the dimension's items,
given only when enough items are answered (``scoring.engine``); the database returns the sum
and the count, so the score is the exact fraction ``sum / count``. Bands and elevated
tendencies come from the definition exactly as the engine decides them (on the float mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import get_args

from app.repositories.research_scope import PackedDimension
from scoring.definition import BandId, Definition

_BAND_RANK = {band: rank for rank, band in enumerate(get_args(BandId))}


@dataclass(frozen=True, slots=True)
class Reading:
    score: Fraction | None
    """``None``: too few items answered for a score."""
    elevated: tuple[str, ...]
    """The tendencies this score makes elevated."""


class ScoreReader:
    def __init__(self, definition: Definition, dimensions: tuple[PackedDimension, ...]) -> None:
        self.definition = definition
        self.dimensions = dimensions
        self._cache: list[dict[int, Reading]] = [{} for _ in dimensions]

    def read(self, index: int, code: int) -> Reading:
        cached = self._cache[index].get(code)
        if cached is None:
            cached = self._cache[index][code] = self._read(index, code)
        return cached

    def _read(self, index: int, code: int) -> Reading:
        keyed_sum, answered = self.dimensions[index].decode(code)
        if answered < self.dimensions[index].needed:
            return Reading(None, ())
        dimension = self.definition.dimensions[index]
        band = dimension.bands.band_of(keyed_sum / answered)
        elevated = tuple(
            rule.id
            for rule in self.definition.tendencies
            if rule.dimension == dimension.id and _BAND_RANK[band] >= _BAND_RANK[rule.elevated_band]
        )
        return Reading(Fraction(keyed_sum, answered), elevated)


def score_range(dimension: PackedDimension) -> tuple[int, int]:
    """The lowest and highest score the dimension's scales allow."""
    return min(i.low for i in dimension.items), max(i.high for i in dimension.items)


def elevation_threshold(definition: Definition, tendency_id: str) -> float | None:
    """The score from which a tendency is elevated (None: from any score)."""
    for rule in definition.tendencies:
        if rule.id != tendency_id:
            continue
        bands = next(d.bands for d in definition.dimensions if d.id == rule.dimension)
        if rule.elevated_band == "elevated":
            return bands.elevated_from
        if rule.elevated_band == "moderate":
            return bands.moderate_from
        return None
    raise KeyError(tendency_id)
