"""The scoring engine: from valid answers to dimension scores and tendencies.

Computation, for each dimension *d* with items *I(d)* on a scale [min, max]:

1. Reverse keying. A reverse-keyed answer *x* is scored as ``min + max - x``.
2. Missing answers. Let *a* be the number of items of *d* answered. When
   ``a / |I(d)| < min_answered_fraction`` the dimension is *insufficient*: it gets no score and
   no band, and it is never silently treated as low. Otherwise:
3. Score. The mean of the *a* keyed answers (available-item mean; missing items are not imputed).
4. Band. ``low`` below ``moderate_from``, ``moderate`` from there, ``elevated`` from
   ``elevated_from``. The score is *borderline* when it lies within ``borderline_margin`` of
   either threshold, inclusive.
5. Tendencies. A tendency is elevated when its dimension reaches the tendency's band. The
   *primary* tendency is the elevated one whose score lies furthest above its own elevated
   threshold (ties: the order of the definition); ``secure`` when every dimension is scored and
   none is elevated; undetermined (``None``) when nothing is elevated but a dimension lacks
   answers, because "secure" would then be a guess. A definition answered per relationship
   (``targets``) has no single primary tendency; each relationship has its own
   (:mod:`scoring.targets`).

Wellbeing items never enter this computation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scoring.definition import (
    BandId,
    Bands,
    Definition,
    Dimension,
    ResponseScale,
    TendencyId,
    TendencyRule,
    per_definition,
)

PrimaryTendency = Literal["anxious", "avoidant", "disorganized", "secure"]


@dataclass(frozen=True, slots=True)
class DimensionScore:
    dimension: str
    mean: float | None
    band: BandId | None
    answered: int
    of: int
    needed: int
    borderline: bool

    @property
    def sufficient(self) -> bool:
        return self.mean is not None


@dataclass(frozen=True, slots=True)
class TendencyScore:
    tendency: TendencyId
    dimension: str
    score: float | None
    band: BandId | None
    elevated: bool
    borderline: bool
    distance_above_threshold: float | None


@dataclass(frozen=True, slots=True)
class Scoring:
    """Everything numeric about one answer set."""

    dimensions: dict[str, DimensionScore]
    tendencies: tuple[TendencyScore, ...]
    primary_tendency: PrimaryTendency | None

    @property
    def elevated(self) -> tuple[TendencyScore, ...]:
        """Elevated tendencies, primary first, then by distance above threshold."""
        return tuple(
            sorted(
                (t for t in self.tendencies if t.elevated),
                key=lambda t: -(t.distance_above_threshold or 0.0),
            )
        )

    @property
    def complete(self) -> bool:
        return all(d.sufficient for d in self.dimensions.values())


def needed_answers(item_count: int, min_fraction: float) -> int:
    """The smallest number of answers that meets ``min_fraction`` of ``item_count``."""
    # Rounding guards against 0.75 * 8 = 6.000000000000001.
    return math.ceil(round(item_count * min_fraction, 9))


@dataclass(frozen=True, slots=True)
class _DimensionPlan:
    """What scoring one dimension reads of the definition: each item's id with, for a
    reverse-keyed item, its scale's ``min + max`` (None otherwise); and how many answers
    are needed."""

    dimension: Dimension
    items: tuple[tuple[str, int | None], ...]
    needed: int


@per_definition
def _dimension_plans(definition: Definition) -> tuple[_DimensionPlan, ...]:
    plans = []
    for dimension in definition.dimensions:
        items = definition.items_of(dimension.id)
        keyed = tuple(
            (item.id, _reversal(definition.scales[item.scale]) if item.reverse else None)
            for item in items
        )
        needed = needed_answers(len(items), dimension.min_answered_fraction)
        plans.append(_DimensionPlan(dimension, keyed, needed))
    return tuple(plans)


def _reversal(scale: ResponseScale) -> int:
    """min + max: a reverse-keyed answer x is scored as this minus x (ResponseScale.reverse)."""
    return scale.min + scale.max


def score_dimensions(
    definition: Definition, answers: Mapping[str, int]
) -> dict[str, DimensionScore]:
    scores: dict[str, DimensionScore] = {}
    for plan in _dimension_plans(definition):
        dimension = plan.dimension
        keyed = [
            answers[item_id] if reversal is None else reversal - answers[item_id]
            for item_id, reversal in plan.items
            if item_id in answers
        ]
        of = len(plan.items)
        if len(keyed) < plan.needed:
            scores[dimension.id] = DimensionScore(
                dimension.id, None, None, len(keyed), of, plan.needed, False
            )
            continue
        mean = math.fsum(keyed) / len(keyed)
        bands = dimension.bands
        scores[dimension.id] = DimensionScore(
            dimension=dimension.id,
            mean=mean,
            band=bands.band_of(mean),
            answered=len(keyed),
            of=of,
            needed=plan.needed,
            borderline=bands.is_borderline(mean),
        )
    return scores


def sufficient(definition: Definition, answers: Mapping[str, int]) -> bool:
    """Whether every dimension has the answers it needs for a score (as
    :func:`score_dimensions` would find, without computing the scores)."""
    for plan in _dimension_plans(definition):
        answered = 0
        for item_id, _ in plan.items:
            if item_id in answers:
                answered += 1
        if answered < plan.needed:
            return False
    return True


_BAND_RANK: dict[BandId, int] = {"low": 0, "moderate": 1, "elevated": 2}


@per_definition
def _bands_by_dimension(definition: Definition) -> dict[str, Bands]:
    return {d.id: d.bands for d in definition.dimensions}


def tendency_scores(
    definition: Definition,
    rules: Sequence[TendencyRule],
    dimensions: Mapping[str, DimensionScore],
) -> tuple[TendencyScore, ...]:
    """Each rule read on its dimension's score: elevated when the band reaches the rule's."""
    if not rules:
        return ()
    bands = _bands_by_dimension(definition)
    tendencies: list[TendencyScore] = []
    for rule in rules:
        dimension = dimensions[rule.dimension]
        elevated = (
            dimension.band is not None
            and _BAND_RANK[dimension.band] >= _BAND_RANK[rule.elevated_band]
        )
        distance = (
            None if dimension.mean is None else dimension.mean - bands[rule.dimension].elevated_from
        )
        tendencies.append(
            TendencyScore(
                tendency=rule.id,
                dimension=rule.dimension,
                score=dimension.mean,
                band=dimension.band,
                elevated=elevated,
                borderline=dimension.borderline,
                distance_above_threshold=distance,
            )
        )
    return tuple(tendencies)


def score(definition: Definition, answers: Mapping[str, int]) -> Scoring:
    """Score valid answers (see :func:`scoring.answers.check_answers`) by the module's rules."""
    dimensions = score_dimensions(definition, answers)
    tendencies = tendency_scores(definition, definition.tendencies, dimensions)
    primary: PrimaryTendency | None
    elevated_ones = [t for t in tendencies if t.elevated]
    if elevated_ones:
        best = max(elevated_ones, key=lambda t: t.distance_above_threshold or 0.0)
        primary = best.tendency
    elif (
        all(d.sufficient for d in dimensions.values())
        and definition.tendencies
        and not definition.targets
    ):
        # "Secure" means that no tendency the definition names is elevated: a definition that
        # names none reports scores only. Answered about several relationships, a response
        # has no single tendency: each relationship has its own (scoring.targets).
        primary = "secure"
    else:
        primary = None
    return Scoring(dimensions, tendencies, primary)
