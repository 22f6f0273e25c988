"""Instruments answered per relationship: the expansion of ``targets`` into the flat form.

A definition with ``targets`` (a partner, the mother, the father, a best friend) writes its
items, dimensions and tendencies once; one response answers every item once per target, and
every dimension is scored once per target. Loading expands such a definition into the flat
form the rest of the system already reads:

- items ``<target>.<item>`` (``partner.rs01``), target by target in definition order, each
  keeping its statement, scale and keying and naming its ``target``;
- dimensions ``<target>.<dimension>`` (``partner.avoidance``) with the same rules and bands,
  labelled "<dimension label> — <target label>" and naming their ``target``;
- tendencies once per target, on that target's dimension, in ``target_tendencies``; the flat
  ``tendencies`` stay empty, so a response about several relationships is given no single
  primary tendency (each relationship gets its own, see :func:`target_primaries`).

Answer keys, stored answers, the research copy of answers (one byte per target and item),
the batch and FHIR routes, the CLI columns and the research exports need nothing new: to them
``partner.avoidance`` is one more dimension.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TypeVar

from scoring.definition import Definition, Dimension, Item, Localized, Target, TendencyRule
from scoring.engine import DimensionScore, PrimaryTendency, TendencyScore, tendency_scores

SEPARATOR = "."
"""Between a target id and an item or dimension id."""


def scoped_id(target_id: str, identifier: str) -> str:
    return f"{target_id}{SEPARATOR}{identifier}"


def _with_target(text: Localized, target: Target) -> Localized:
    """``text`` with the target's label after it, language by language."""
    return {
        language: f"{words} — {target.label.get(language) or target.label.get('en') or ''}"
        for language, words in text.items()
    }


_Part = TypeVar("_Part", Item, Dimension, TendencyRule)


def _about(target: Target, part: _Part, **scoped: object) -> _Part:
    """A copy of ``part`` for one relationship: ``scoped`` fields changed, ``target`` set."""
    return part.model_copy(update={**scoped, "target": target.id})


def expand(definition: Definition) -> Definition:
    """The flat form of a definition with targets (unchanged without, or when expanded)."""
    if not definition.targets or definition.target_tendencies:
        return definition
    if any(item.target is not None for item in definition.items):
        return definition
    items: list[Item] = []
    dimensions: list[Dimension] = []
    tendencies: list[TendencyRule] = []
    for target in definition.targets:
        scoped = partial(scoped_id, target.id)
        items += [
            _about(target, item, id=scoped(item.id), dimension=scoped(item.dimension))
            for item in definition.items
        ]
        dimensions += [
            _about(target, d, id=scoped(d.id), label=_with_target(d.label, target))
            for d in definition.dimensions
        ]
        tendencies += [
            _about(target, r, dimension=scoped(r.dimension), label=_with_target(r.label, target))
            for r in definition.tendencies
        ]
    return definition.model_copy(
        update={
            "items": tuple(items),
            "dimensions": tuple(dimensions),
            "tendencies": (),
            "target_tendencies": tuple(tendencies),
        }
    )


def target_tendency_scores(
    definition: Definition, dimensions: Mapping[str, DimensionScore]
) -> tuple[TendencyScore, ...]:
    """Every target's tendencies, by the engine's rule, from its dimension scores."""
    return tendency_scores(definition, definition.target_tendencies, dimensions)


def target_primaries(
    definition: Definition,
    dimensions: Mapping[str, DimensionScore],
    tendencies: tuple[TendencyScore, ...],
) -> dict[str, PrimaryTendency | None]:
    """Each target's primary tendency, by the engine's rule applied to that target alone: the
    elevated tendency furthest above its threshold; ``secure`` when the target has tendencies,
    every one of its dimensions is scored and none is elevated; otherwise none. Without
    tendencies no target is called secure: nothing was read that could say so."""
    primaries: dict[str, PrimaryTendency | None] = {}
    if not definition.targets:
        return primaries
    by_dimension = {d.id: d.target for d in definition.dimensions}
    for target in definition.targets:
        own = [t for t in tendencies if by_dimension.get(t.dimension) == target.id]
        scored = [s for d_id, s in dimensions.items() if by_dimension.get(d_id) == target.id]
        elevated = [t for t in own if t.elevated]
        primary: PrimaryTendency | None = None
        if elevated:
            primary = max(elevated, key=lambda t: t.distance_above_threshold or 0.0).tendency
        elif own and all(s.sufficient for s in scored):
            primary = "secure"
        primaries[target.id] = primary
    return primaries
