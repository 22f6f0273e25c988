"""The questionnaire definition: what a definition file may say, as frozen pydantic models.

A definition is data, not code. Everything the engine needs to score a questionnaire lives
here: the response scales, the items and the dimension each feeds, which items are
reverse-keyed, how many answers a dimension needs, the bands and their thresholds, which
tendency each dimension stands for, the wellbeing items with their risk rules, and which
psychoeducation sections go with which tendency.

Models only check what one model can see; rules that span the whole definition (an item
naming a dimension that exists, a risk rule naming a wellbeing item, ...) are checked in
:meth:`Definition.cross_check`, which returns every problem instead of stopping at the first.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
VersionString = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]
NonEmptyText = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Localized = dict[LanguageTag, NonEmptyText]
"""Text keyed by language tag, e.g. ``{"en": "..."}``."""

BandId = Literal["low", "moderate", "elevated"]
TendencyId = Literal["anxious", "avoidant", "disorganized"]
CrisisLevel = Literal["support", "urgent", "acute"]

CRISIS_LEVEL_ORDER: dict[CrisisLevel, int] = {"support": 1, "urgent": 2, "acute": 3}
"""Higher is more serious; the highest level any rule reaches wins."""


class DefinitionModel(BaseModel):
    """Base for everything read from a definition file: immutable, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class ResponseScale(DefinitionModel):
    """A closed range of integer answers with a label for every point."""

    min: int
    max: int
    labels: dict[LanguageTag, tuple[NonEmptyText, ...]]

    @model_validator(mode="after")
    def _labels_cover_every_point(self) -> ResponseScale:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        points = self.max - self.min + 1
        for language, labels in self.labels.items():
            if len(labels) != points:
                raise ValueError(
                    f"labels[{language}] has {len(labels)} labels; the scale has {points} points"
                )
        return self

    def contains(self, value: int) -> bool:
        return self.min <= value <= self.max

    def reverse(self, value: int) -> int:
        """Reverse keying: min + max - x, so 1 <-> 7 and 4 stays 4 on a 1..7 scale."""
        return self.min + self.max - value


class Item(DefinitionModel):
    """One attachment item: its wording, the dimension it feeds and whether it is reversed."""

    id: Identifier
    dimension: Identifier
    scale: Identifier
    reverse: bool = False
    text: Localized


class Bands(DefinitionModel):
    """Thresholds on a dimension's mean: below ``moderate_from`` is low, from
    ``elevated_from`` on is elevated, moderate in between. ``borderline_margin`` is how close
    to either threshold a score may lie before the result calls it borderline."""

    moderate_from: float
    elevated_from: float
    borderline_margin: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.elevated_from <= self.moderate_from:
            raise ValueError("elevated_from must be greater than moderate_from")
        return self

    def band_of(self, score: float) -> BandId:
        if score >= self.elevated_from:
            return "elevated"
        if score >= self.moderate_from:
            return "moderate"
        return "low"

    def is_borderline(self, score: float) -> bool:
        # A small tolerance keeps hand-computed margins (e.g. 4.25 vs 4.5 - 0.25) exact.
        tolerance = 1e-9
        return any(
            abs(score - threshold) <= self.borderline_margin + tolerance
            for threshold in (self.moderate_from, self.elevated_from)
        )


class Dimension(DefinitionModel):
    """A scored dimension. ``rule`` is ``mean``: the mean of the (reverse-keyed) answers to
    its items, computed only when at least ``min_answered_fraction`` of them are answered."""

    id: Identifier
    label: Localized
    description: Localized | None = None
    rule: Literal["mean"] = "mean"
    min_answered_fraction: float = Field(gt=0, le=1)
    bands: Bands


class TendencyRule(DefinitionModel):
    """A tendency is elevated when its dimension's band reaches ``elevated_band``."""

    id: TendencyId
    dimension: Identifier
    label: Localized
    elevated_band: BandId = "elevated"


class WellbeingItem(DefinitionModel):
    """An item of the optional wellbeing check. It never feeds an attachment dimension."""

    id: Identifier
    scale: Identifier
    text: Localized


class RiskRule(DefinitionModel):
    """``level`` is indicated when the answer to ``item`` is at least ``at_least``."""

    item: Identifier
    at_least: int
    level: CrisisLevel


class WellbeingCheck(DefinitionModel):
    title: Localized
    instructions: Localized
    items: tuple[WellbeingItem, ...] = Field(min_length=1)
    risk_rules: tuple[RiskRule, ...] = Field(min_length=1)


class ContentPlan(DefinitionModel):
    """Which psychoeducation sections a result carries: those of its elevated tendencies
    (primary first), then the general ones; ``secure`` replaces the tendency sections when no
    tendency is elevated."""

    general: tuple[Identifier, ...] = ()
    secure: tuple[Identifier, ...] = ()
    tendencies: dict[TendencyId, tuple[Identifier, ...]] = Field(default_factory=dict)


class Definition(DefinitionModel):
    """A complete questionnaire definition."""

    id: Identifier
    version: VersionString
    title: Localized
    languages: tuple[LanguageTag, ...] = Field(min_length=1)
    estimated_minutes: int = Field(ge=1, le=120)
    instructions: Localized
    consent_text: Localized | None = None
    scales: dict[Identifier, ResponseScale] = Field(min_length=1)
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)
    tendencies: tuple[TendencyRule, ...] = ()
    wellbeing: WellbeingCheck | None = None
    content: ContentPlan = ContentPlan()

    def cross_check(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every rule that spans more than one part of the definition, as (path, message)."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        dimension_ids = [d.id for d in self.dimensions]
        problems += _duplicates(dimension_ids, "dimensions")
        all_item_ids = [i.id for i in self.items] + [w.id for w in self.wellbeing_items]
        problems += _duplicates(all_item_ids, "items")
        problems += _duplicates([t.id for t in self.tendencies], "tendencies")

        def localized(path: tuple[str | int, ...], text: dict[str, str]) -> None:
            missing = [lang for lang in self.languages if lang not in text]
            if missing:
                problems.append((path, f"missing text for language(s) {', '.join(missing)}"))

        localized(("title",), self.title)
        localized(("instructions",), self.instructions)
        for name, scale in self.scales.items():
            localized(("scales", name, "labels"), dict.fromkeys(scale.labels, "x"))
        for index, item in enumerate(self.items):
            localized(("items", index, "text"), item.text)
            if item.dimension not in dimension_ids:
                problems.append(
                    (("items", index, "dimension"), f"unknown dimension {item.dimension!r}")
                )
            if item.scale not in self.scales:
                problems.append((("items", index, "scale"), f"unknown scale {item.scale!r}"))
        for index, dimension in enumerate(self.dimensions):
            if not any(item.dimension == dimension.id for item in self.items):
                problems.append((("dimensions", index), f"dimension {dimension.id!r} has no items"))
        for index, tendency in enumerate(self.tendencies):
            if tendency.dimension not in dimension_ids:
                problems.append(
                    (
                        ("tendencies", index, "dimension"),
                        f"unknown dimension {tendency.dimension!r}",
                    )
                )
        if self.wellbeing is not None:
            wellbeing_ids = {w.id: w for w in self.wellbeing.items}
            for index, w_item in enumerate(self.wellbeing.items):
                localized(("wellbeing", "items", index, "text"), w_item.text)
                if w_item.scale not in self.scales:
                    problems.append(
                        (("wellbeing", "items", index, "scale"), f"unknown scale {w_item.scale!r}")
                    )
            for index, rule in enumerate(self.wellbeing.risk_rules):
                path: tuple[str | int, ...] = ("wellbeing", "risk_rules", index)
                target = wellbeing_ids.get(rule.item)
                if target is None:
                    problems.append(((*path, "item"), f"unknown wellbeing item {rule.item!r}"))
                elif target.scale in self.scales:
                    scale = self.scales[target.scale]
                    if not scale.min < rule.at_least <= scale.max:
                        problems.append(
                            (
                                (*path, "at_least"),
                                f"must lie above the lowest answer and within "
                                f"{scale.min}..{scale.max}, so that 'not at all' never triggers",
                            )
                        )
        tendency_ids = {t.id for t in self.tendencies}
        for tendency_id in self.content.tendencies:
            if tendency_id not in tendency_ids:
                problems.append(
                    (("content", "tendencies", tendency_id), f"no tendency {tendency_id!r} defined")
                )
        return problems

    # Convenience views used by the engine and the API.

    @property
    def wellbeing_items(self) -> tuple[WellbeingItem, ...]:
        return self.wellbeing.items if self.wellbeing is not None else ()

    @property
    def risk_rules(self) -> tuple[RiskRule, ...]:
        return self.wellbeing.risk_rules if self.wellbeing is not None else ()

    def scale_of(self, item_id: str) -> ResponseScale | None:
        for item in self.items:
            if item.id == item_id:
                return self.scales[item.scale]
        for w_item in self.wellbeing_items:
            if w_item.id == item_id:
                return self.scales[w_item.scale]
        return None

    def items_of(self, dimension_id: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.dimension == dimension_id)

    def content_section_ids(self) -> set[str]:
        ids = set(self.content.general) | set(self.content.secure)
        for sections in self.content.tendencies.values():
            ids |= set(sections)
        return ids


def _duplicates(ids: list[str], where: str) -> list[tuple[tuple[str | int, ...], str]]:
    seen: set[str] = set()
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, identifier in enumerate(ids):
        if identifier in seen:
            problems.append(((where, index, "id"), f"duplicate id {identifier!r}"))
        seen.add(identifier)
    return problems
