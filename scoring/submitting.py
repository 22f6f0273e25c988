"""Whether a scored answer set may be submitted (stored as final): the dimensions that stop it.

Stateless scoring scores whatever was answered; a submitted response is kept as a result, so
it needs enough answers to say something. The rule:

- **Without relationships** (no ``targets``): every dimension needs enough answers for a
  score (``min_answered_fraction`` of its items).
- **Answered per relationship** (``targets``), where a person may have no partner or no
  father figure:

  - a relationship *left out* (none of its items answered) is reported unscored, as in
    stateless scoring, and does not stop the submission;
  - a relationship *answered in part*, too little for one of its dimensions, stops it on those
    dimensions: whether it was meant to be left out or is a slip cannot be told, so the person
    is asked;
  - at least one relationship must be scored in full. When none is answered at all, every
    dimension is named (:attr:`Shortfall.nothing_answered`).

Wellbeing and demographic items take no part: they are answered once and never scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scoring.definition import Definition, per_definition
from scoring.engine import DimensionScore, score_dimensions, sufficient


@dataclass(frozen=True, slots=True)
class Shortfall:
    """What stops a submission: the dimensions with too few answers, in definition order."""

    dimensions: tuple[DimensionScore, ...]
    nothing_answered: bool = False
    """With relationships: no relationship has a single answer, so one must be answered in
    full (every dimension is in ``dimensions``)."""

    def __bool__(self) -> bool:
        return bool(self.dimensions)


NONE = Shortfall(())


@per_definition
def _dimensions_by_target(definition: Definition) -> tuple[tuple[str, ...], ...]:
    """Each relationship's dimension ids, relationships in definition order."""
    return tuple(
        tuple(d.id for d in definition.dimensions if d.target == target.id)
        for target in definition.targets
    )


def shortfall(definition: Definition, dimensions: Mapping[str, DimensionScore]) -> Shortfall:
    """The dimensions that stop submitting ``dimensions`` (the engine's scores of one answer
    set, :func:`scoring.engine.score_dimensions`); empty when it may be submitted."""
    if not definition.targets:
        return Shortfall(tuple(d for d in dimensions.values() if not d.sufficient))
    blocking: list[DimensionScore] = []
    any_in_full = False
    for ids in _dimensions_by_target(definition):
        scores = [dimensions[d] for d in ids]
        if all(s.sufficient for s in scores):
            any_in_full = True
        elif any(s.answered for s in scores):
            blocking += [s for s in scores if not s.sufficient]
        # else left out: none of its items answered, reported unscored
    if blocking or any_in_full:
        return Shortfall(tuple(blocking))
    return Shortfall(tuple(dimensions.values()), nothing_answered=True)


def submittable(definition: Definition, answers: Mapping[str, int]) -> bool:
    """Whether ``answers`` may be submitted, by :func:`shortfall`'s rule (without scoring
    them when the definition has no relationships)."""
    if not definition.targets:
        return sufficient(definition, answers)
    return not shortfall(definition, score_dimensions(definition, answers))
