"""The questionnaire definition: what a definition file may say, as frozen pydantic models.

A definition is data, not code. Everything the engine needs to score a questionnaire lives
here: the response scales, the items and the dimension each feeds, which items are
reverse-keyed, how many answers a dimension needs, the bands and their thresholds, which
tendency each dimension stands for, the wellbeing items with their risk rules, the coarse
demographic items research exports may group by, and which psychoeducation sections go with
which tendency.

Models only check what one model can see; rules that span the whole definition (an item
naming a dimension that exists, a risk rule naming a wellbeing item, ...) are checked in
:func:`scoring.crosscheck.cross_check`, which reads the raw document, so that its problems are
reported together with the model's own, never instead of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from scoring.memo import kept_with

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
VersionString = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]
NonEmptyText = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Localized = dict[LanguageTag, NonEmptyText]
"""Text keyed by language tag, e.g. ``{"en": "..."}``."""

CONTENT_HASH_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")
"""How a definition's content hash is written (:func:`scoring.loading.content_hash`)."""


def _content_hash_text(value: str) -> str:
    if not CONTENT_HASH_PATTERN.fullmatch(value):
        raise ValueError(
            "must be a content hash: 'sha256:' followed by 64 lower-case hexadecimal digits, "
            "as `securebase questionnaires validate` prints it"
        )
    return value


ContentHashText = Annotated[str, AfterValidator(_content_hash_text)]

BandId = Literal["low", "moderate", "elevated"]
TendencyId = Literal["anxious", "avoidant", "disorganized"]
CrisisLevel = Literal["support", "urgent", "acute"]

CRISIS_LEVEL_ORDER: dict[CrisisLevel, int] = {"support": 1, "urgent": 2, "acute": 3}
"""Higher is more serious; the highest level any rule reaches wins."""


class DefinitionModel(BaseModel):
    """Base for everything read from a definition file: immutable, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


_BORDERLINE_TOLERANCE = 1e-9

MAX_SCALE_POINTS = 255
"""More points than anyone can tell apart; and the research copy of an answer is one byte."""


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
        if points > MAX_SCALE_POINTS:
            raise ValueError(
                f"the scale has {points} points; at most {MAX_SCALE_POINTS} are allowed"
            )
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


class Target(DefinitionModel):
    """One relationship an instrument answered per relationship asks about (a partner, the
    mother, ...): every item is answered, and every dimension scored, once per target."""

    id: Identifier
    label: Localized


class Item(DefinitionModel):
    """One attachment item: its wording, the dimension it feeds and whether it is reversed.
    ``target`` is set only by the expansion of ``targets`` (:mod:`scoring.targets`), never in
    a file: the relationship this copy of the statement is answered about."""

    id: Identifier
    dimension: Identifier
    scale: Identifier
    reverse: bool = False
    text: Localized
    target: Identifier | None = None


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
        within = self.borderline_margin + _BORDERLINE_TOLERANCE
        return (
            abs(score - self.moderate_from) <= within or abs(score - self.elevated_from) <= within
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
    target: Identifier | None = None
    """Set by the expansion of ``targets``: the relationship this dimension is scored for."""


class TendencyRule(DefinitionModel):
    """A tendency is elevated when its dimension's band reaches ``elevated_band``."""

    id: TendencyId
    dimension: Identifier
    label: Localized
    elevated_band: BandId = "elevated"
    target: Identifier | None = None
    """Set by the expansion of ``targets``: the relationship this tendency is read for."""


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


MAX_DEMOGRAPHIC_OPTIONS = 255
"""The research copy of a demographic answer is one byte, as for an item."""

RESERVED_DEMOGRAPHIC_IDS = frozenset({"study", "language", "country", "tendency"})
"""What research exports already group by: a demographic item of the same name would be
ambiguous there."""


RESERVED_TARGET_IDS = frozenset({"attachment", "wellbeing", "demographics"})
"""The sections of a questionnaire as the API and FHIR views name them (FHIR puts each
relationship's group inside ``attachment``, beside ``wellbeing`` and ``demographics``)."""


class DemographicOption(DefinitionModel):
    """One answer to a demographic item, e.g. an age band."""

    id: Identifier
    label: Localized


class DemographicItem(DefinitionModel):
    """A coarse demographic question, answered by choosing one option; the answer is the
    option's position counted from 1. It never feeds a score or a risk rule: research exports
    may group by it, nothing else reads it."""

    id: Identifier
    text: Localized
    options: tuple[DemographicOption, ...] = Field(min_length=2, max_length=MAX_DEMOGRAPHIC_OPTIONS)

    def option_at(self, place: int) -> DemographicOption | None:
        """The option chosen by the answer ``place`` (1 for the first); None off the list."""
        return self.options[place - 1] if 1 <= place <= len(self.options) else None


class ContentPlan(DefinitionModel):
    """Which psychoeducation sections a result carries: those of its elevated tendencies
    (primary first), then the general ones; ``secure`` replaces the tendency sections when no
    tendency is elevated."""

    general: tuple[Identifier, ...] = ()
    secure: tuple[Identifier, ...] = ()
    tendencies: dict[TendencyId, tuple[Identifier, ...]] = Field(default_factory=dict)


class ResearchLineage(DefinitionModel):
    """Earlier versions of this definition whose responses research may pool with its own.

    ``same_measure_as`` lists the content hashes of earlier versions that measure exactly
    what this one does: the same items, scales, keys, scoring rules, wellbeing items and risk
    rules, and demographic items, in the same order; only presentation text (titles,
    instructions, consent text, labels of scores, psychoeducation) changed. Research exports
    and norms then cover responses scored with any of these hashes as well as the current one.
    The loader checks each hash against the earlier file kept in the ``archive/`` folder
    beside the definition (:mod:`scoring.lineage`)."""

    same_measure_as: tuple[ContentHashText, ...]

    @field_validator("same_measure_as")
    @classmethod
    def _not_empty(cls, hashes: tuple[str, ...]) -> tuple[str, ...]:
        # Checked here rather than as a minimum length, which pydantic would also report
        # (as "0 items after validation") for a list whose only hash is malformed.
        if not hashes:
            raise ValueError("lists at least one earlier version's content hash")
        return hashes


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
    demographics: tuple[DemographicItem, ...] = ()
    content: ContentPlan = ContentPlan()
    research: ResearchLineage | None = None
    """Optional: earlier versions research may pool with this one (see
    :class:`ResearchLineage`). A definition without it hashes as before the field existed."""
    targets: tuple[Target, ...] = ()
    """Optional: the relationships one response covers. Loading expands the file's items and
    dimensions once per target (:mod:`scoring.targets`)."""
    target_tendencies: tuple[TendencyRule, ...] = ()
    """Set by the expansion: the file's tendencies, once per target. ``tendencies`` is then
    empty, since a response answered about several relationships has no single tendency."""

    # Convenience views used by the engine and the API.

    @property
    def wellbeing_items(self) -> tuple[WellbeingItem, ...]:
        return self.wellbeing.items if self.wellbeing is not None else ()

    @property
    def risk_rules(self) -> tuple[RiskRule, ...]:
        return self.wellbeing.risk_rules if self.wellbeing is not None else ()

    def scale_of(self, item_id: str) -> ResponseScale | None:
        """The scale of an attachment or wellbeing item; None for any other id."""
        return _scales_by_item(self).get(item_id)

    def demographic(self, item_id: str) -> DemographicItem | None:
        return _demographics_by_id(self).get(item_id)

    def items_of(self, dimension_id: str) -> tuple[Item, ...]:
        return _items_by_dimension(self).get(dimension_id, ())

    def target(self, target_id: str | None) -> Target | None:
        for target in self.targets:
            if target.id == target_id:
                return target
        return None

    @property
    def same_measure_as(self) -> tuple[str, ...]:
        """The content hashes of earlier versions declared to measure the same."""
        return self.research.same_measure_as if self.research is not None else ()

    def content_section_ids(self) -> set[str]:
        ids = set(self.content.general) | set(self.content.secure)
        for sections in self.content.tendencies.values():
            ids |= set(sections)
        return ids


_Derived = TypeVar("_Derived")


def per_definition(build: Callable[[Definition], _Derived]) -> Callable[[Definition], _Derived]:
    """``build`` made once per definition and kept with it.

    A definition never changes once loaded, so the tables read for every answer set (which
    scale an item has, which items a dimension has, ...) are built on first use, not searched
    for on each request (see :mod:`scoring.memo`: a copy builds its own)."""

    def derived(definition: Definition) -> _Derived:
        tables = kept_with(definition)
        if build not in tables:
            tables[build] = build(definition)
        return cast(_Derived, tables[build])

    derived.__doc__ = build.__doc__
    return derived


@per_definition
def _scales_by_item(definition: Definition) -> dict[str, ResponseScale]:
    scales: dict[str, ResponseScale] = {}
    items: tuple[Item | WellbeingItem, ...] = (*definition.items, *definition.wellbeing_items)
    for item in items:
        scales.setdefault(item.id, definition.scales[item.scale])  # the first of an id wins
    return scales


@per_definition
def _demographics_by_id(definition: Definition) -> dict[str, DemographicItem]:
    by_id: dict[str, DemographicItem] = {}
    for item in definition.demographics:
        by_id.setdefault(item.id, item)
    return by_id


@per_definition
def _items_by_dimension(definition: Definition) -> dict[str, tuple[Item, ...]]:
    by_dimension: dict[str, list[Item]] = {}
    for item in definition.items:
        by_dimension.setdefault(item.dimension, []).append(item)
    return {dimension: tuple(items) for dimension, items in by_dimension.items()}
