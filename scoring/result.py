"""The result a person (or an integrating system) receives, and how it is composed.

Composition adds words to numbers: a summary, how the result was computed, the
psychoeducation sections for the elevated tendencies (primary first) and the general ones,
the always-present help footer, the crisis notice when risk is indicated, and the reminder
that this is self-reflection, not a diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from scoring.content import ContentLibrary, ResultWording
from scoring.crisis import CrisisDirectory, CrisisNotice, HelpFooter
from scoring.definition import BandId, Definition, TendencyId
from scoring.engine import DimensionScore, PrimaryTendency, Scoring, TendencyScore
from scoring.memo import bounded, kept_with
from scoring.norms import NormComparison
from scoring.risk import RiskAssessment
from scoring.targets import target_primaries, target_tendency_scores


class ResultModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoredPart(ResultModel):
    """A part of the result that states numbers from the scoring engine."""

    @classmethod
    def as_scored(cls, scored: object, **words: object) -> Self:
        """This part from the engine's ``scored`` values: the fields given in ``words`` (a
        label, an id) as given, every other field the same-named value of ``scored``,
        unchanged, so the result states each number exactly as it was scored."""
        fields = cls.__pydantic_fields__
        values = {name: getattr(scored, name) for name in fields if name not in words}
        values.update(words)
        return cls.__pydantic_validator__.validate_python(values)  # type: ignore[no-any-return]


def only_when_set(description: str) -> Any:
    """A field that is left out of the JSON while it holds None: for keys that only some
    results or questionnaires have (norms, the relationship of a per-relationship item)."""
    return Field(default=None, exclude_if=lambda value: value is None, description=description)


_ONLY_WITH_TARGETS = only_when_set(
    "The relationship (target id) of an instrument answered per relationship."
)


class QuestionnaireRef(ResultModel):
    id: str
    version: str
    hash: str


class DimensionResult(ScoredPart):
    label: str
    mean: float | None
    band: BandId | None
    answered: int
    of: int
    needed: int
    sufficient: bool
    borderline: bool
    target: str | None = _ONLY_WITH_TARGETS


class TendencyResult(ScoredPart):
    id: TendencyId
    label: str
    dimension: str
    score: float | None
    band: BandId | None
    elevated: bool
    borderline: bool
    target: str | None = _ONLY_WITH_TARGETS


class TargetResult(ResultModel):
    """One relationship of an instrument answered per relationship: its dimensions (ids in
    ``scores``) and its own primary tendency."""

    id: str
    label: str
    dimensions: tuple[str, ...]
    primary_tendency: PrimaryTendency | None


class PsychoeducationSection(ResultModel):
    id: str
    title: str
    body: str
    references: tuple[str, ...]


class ScoreResult(ResultModel):
    questionnaire: QuestionnaireRef
    language: str
    scores: dict[str, DimensionResult]
    tendencies: tuple[TendencyResult, ...]
    primary_tendency: PrimaryTendency | None
    summary: str
    how_scored: str
    psychoeducation: tuple[PsychoeducationSection, ...]
    crisis: CrisisNotice | None
    help: HelpFooter
    disclaimer: str
    norms: NormComparison | None = only_when_set(
        "Where each score stands in a norm sample; only when norms built from exactly this "
        "definition are shipped."
    )
    targets: tuple[TargetResult, ...] = Field(
        default=(),
        exclude_if=lambda value: not value,
        description="Each relationship of an instrument answered per relationship, with its "
        "own primary tendency; absent otherwise.",
    )


def _localized(text: dict[str, str], language: str) -> str:
    return text.get(language) or text.get("en") or next(iter(text.values()))


def _join(names: list[str], wording: ResultWording) -> str:
    if len(names) <= 1:
        return "".join(names)
    return wording.list_separator.join(names[:-1]) + wording.list_last_separator + names[-1]


def _number(value: float) -> str:
    return f"{value:.2f}"


def _percentages(definition: Definition, labels: dict[str, str]) -> str:
    """The least share of a dimension's statements that must be answered, as a percentage;
    one per dimension (with its name) when the dimensions differ."""
    shares = {d.id: f"{d.min_answered_fraction * 100:g}%" for d in definition.dimensions}
    if len(set(shares.values())) == 1:
        return next(iter(shares.values()))
    return ", ".join(f"{share} ({labels[d_id]})" for d_id, share in shares.items())


_SERIOUS = ("acute", "urgent")
_SUPPORT_FIRST = "seeking-support"


def _beside_a_notice(section_ids: list[str], secure: Sequence[str]) -> list[str]:
    """Beside an acute or urgent notice, the result leads with where to find support, and the
    reassurance written for a secure pattern comes last: it must not be the first thing read by
    someone who has just said they are in danger."""
    first = [s for s in section_ids if s == _SUPPORT_FIRST]
    last = [s for s in section_ids if s in secure]
    middle = [s for s in section_ids if s not in first and s not in last]
    return [*first, *middle, *last]


def _by_distance(tendencies: Sequence[TendencyScore]) -> tuple[TendencyScore, ...]:
    """Elevated tendencies, furthest above their threshold first (as Scoring.elevated)."""
    return tuple(
        sorted(
            (t for t in tendencies if t.elevated),
            key=lambda t: -(t.distance_above_threshold or 0.0),
        )
    )


def _targets_summary(
    definition: Definition,
    primaries: dict[str, PrimaryTendency | None],
    scoring: Scoring,
    wording: ResultWording,
    language: str,
) -> str:
    """One sentence per relationship with a primary tendency: "<target>: <tendency>."."""
    parts = [
        f"{_localized(target.label, language)}: {wording.tendency_names.get(primary, primary)}."
        for target in definition.targets
        if (primary := primaries[target.id]) is not None
    ]
    if not parts and not scoring.complete:
        return wording.summary_undetermined
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class _Words:
    """What every result of one definition says in one language, whatever the answers: made
    once per definition, content library and language (see :func:`_words`)."""

    language: str
    wording: ResultWording
    labels: dict[str, str]
    targets: dict[str, str | None]
    opening: str
    """The first sentence of ``how_scored``: the instrument, its scale and what it needs."""
    thresholds: dict[str, tuple[str, str]]
    """Each dimension's ``moderate_from`` and ``elevated_from`` as the result writes them."""
    borderline_notes: dict[str, str]
    """Each dimension's note for a score near a band's edge."""
    rules: tuple[tuple[str, str | None], ...]
    """The label and target of each tendency rule, flat ones first."""
    target_parts: tuple[tuple[str, str, tuple[str, ...]], ...]
    """Each target's id, label and dimension ids."""
    questionnaire: QuestionnaireRef
    dimension_lines: dict[tuple[object, ...], str] = field(default_factory=dict, compare=False)
    """The line of ``how_scored`` for each dimension's score, as made (see
    :func:`_dimension_line`)."""


_KEPT_LINES = 4096


def _dimension_line(words: _Words, dimension_id: str, mean: float, score: DimensionScore) -> str:
    """The line saying a dimension's score, its band and thresholds: made once per (bounded)
    dimension and score, since scores take few values. A zero mean is never kept (-0.0 ==
    0.0, but is written "-0.00")."""
    key = (dimension_id, mean, score.answered, score.of, score.band)
    line = words.dimension_lines.get(key) if mean != 0.0 else None
    if line is None:
        wording = words.wording
        band = score.band or ""
        moderate_from, elevated_from = words.thresholds[dimension_id]
        line = wording.dimension_line.format(
            dimension=words.labels[dimension_id],
            score=_number(mean),
            answered=score.answered,
            of=score.of,
            band=wording.band_names.get(band, band),
            moderate_from=moderate_from,
            elevated_from=elevated_from,
        )
        if mean != 0.0:
            if len(words.dimension_lines) >= _KEPT_LINES:
                words.dimension_lines.clear()
            words.dimension_lines[key] = line
    return line


_KEPT_SECTION_LISTS = 1024


def _words(
    definition: Definition, definition_hash: str, language: str, content: ContentLibrary
) -> _Words:
    kept: dict[tuple[object, ...], _Words] = bounded(kept_with(definition), "words", 256)
    key = (content, language, definition_hash)
    words = kept.get(key)
    if words is None:
        words = kept[key] = _make_words(definition, definition_hash, language, content)
    return words


def _make_words(
    definition: Definition, definition_hash: str, language: str, content: ContentLibrary
) -> _Words:
    if content.wording(language) is None:
        language = "en"
    wording = content.wording(language)
    assert wording is not None, "the content library always has English wording"
    labels = {d.id: _localized(d.label, language) for d in definition.dimensions}
    # The scales of the attachment statements only: the wellbeing check's scales feed no score.
    item_scales = [definition.scales[item.scale] for item in definition.items]
    opening = wording.how_scored.format(
        title=_localized(definition.title, language),
        version=definition.version,
        scale_min=min(s.min for s in item_scales),
        scale_max=max(s.max for s in item_scales),
        min_answered=_percentages(definition, labels),
    )
    return _Words(
        language=language,
        wording=wording,
        labels=labels,
        targets={d.id: d.target for d in definition.dimensions},
        opening=opening,
        borderline_notes={
            d_id: wording.borderline_note.format(dimension=label) for d_id, label in labels.items()
        },
        thresholds={
            d.id: (_number(d.bands.moderate_from), _number(d.bands.elevated_from))
            for d in definition.dimensions
        },
        rules=tuple(
            (_localized(rule.label, language), rule.target)
            for rule in (*definition.tendencies, *definition.target_tendencies)
        ),
        target_parts=tuple(
            (
                target.id,
                _localized(target.label, language),
                tuple(d.id for d in definition.dimensions if d.target == target.id),
            )
            for target in definition.targets
        ),
        questionnaire=QuestionnaireRef(
            id=definition.id, version=definition.version, hash=definition_hash
        ),
    )


def _sections(
    content: ContentLibrary, language: str, section_ids: Sequence[str]
) -> tuple[PsychoeducationSection, ...]:
    """The sections named (each once, in order) in ``language``, else in English; made once
    per list of sections while the content library is loaded."""
    ids = tuple(dict.fromkeys(section_ids))
    kept = bounded(kept_with(content), "sections", _KEPT_SECTION_LISTS)
    sections: tuple[PsychoeducationSection, ...] | None = kept.get((language, ids))
    if sections is None:
        found = [content.section(language, i) or content.section("en", i) for i in ids]
        sections = kept[language, ids] = tuple(
            PsychoeducationSection(
                id=section.id, title=section.title, body=section.body, references=section.references
            )
            for section in found
            if section is not None
        )
    return sections


_Part = TypeVar("_Part", DimensionResult, TendencyResult)
_KEPT_PARTS = 16384
_kept_parts: dict[tuple[object, ...], ScoredPart] = {}
"""Parts of results by what they were made from: a part is immutable, and scores recur."""


def _scored_part(
    kind: type[_Part],
    scored: DimensionScore | TendencyScore,
    shown: float | None,
    **words: str | None,
) -> _Part:
    """``kind.as_scored(scored, **words)``, made once per (bounded) kind, scores and words.
    The number ``shown`` keys the part as a number: -0.0 == 0.0, so a zero is never kept."""
    if shown == 0.0:
        return kind.as_scored(scored, **words)
    key = (kind, scored, *words.values())
    part = _kept_parts.get(key)
    if part is None:
        if len(_kept_parts) >= _KEPT_PARTS:
            _kept_parts.clear()
        part = _kept_parts[key] = kind.as_scored(scored, **words)
    assert isinstance(part, kind)
    return part


def compose_result(
    *,
    definition: Definition,
    definition_hash: str,
    scoring: Scoring,
    risk: RiskAssessment,
    language: str,
    country: str | None,
    content: ContentLibrary,
    crisis: CrisisDirectory,
) -> ScoreResult:
    """Put numbers, words, content and help together in ``language`` (falling back to English)."""
    words = _words(definition, definition_hash, language, content)
    language = words.language
    wording = words.wording
    labels = words.labels

    lines = [words.opening]
    notes: list[str] = []
    for dimension in definition.dimensions:
        score = scoring.dimensions[dimension.id]
        if score.mean is None or score.band is None:
            notes.append(
                wording.insufficient_note.format(
                    dimension=labels[dimension.id],
                    answered=score.answered,
                    of=score.of,
                    needed=score.needed,
                )
            )
            continue
        lines.append(_dimension_line(words, dimension.id, score.mean, score))
        if score.borderline:
            notes.append(words.borderline_notes[dimension.id])

    tendencies = scoring.tendencies + target_tendency_scores(definition, scoring.dimensions)
    primaries = target_primaries(definition, scoring.dimensions, tendencies)
    elevated = _by_distance(tendencies)
    names = [wording.tendency_names.get(t.tendency, t.tendency) for t in elevated]
    if definition.targets:
        summary = _targets_summary(definition, primaries, scoring, wording, language)
    elif not definition.tendencies:
        summary = wording.summary_scores_only
    elif scoring.primary_tendency == "secure":
        summary = wording.summary_secure
    elif scoring.primary_tendency is None:
        summary = wording.summary_undetermined
    else:
        summary = wording.summary_elevated.format(primary=names[0])
        if len(names) > 1:
            notes.insert(0, wording.also_elevated.format(others=_join(names[1:], wording)))
    summary = " ".join(part for part in [summary, *notes] if part)

    section_ids: list[str] = []
    if scoring.primary_tendency == "secure" or "secure" in primaries.values():
        section_ids += definition.content.secure
    for tendency in elevated:
        section_ids += definition.content.tendencies.get(tendency.tendency, ())
    section_ids += definition.content.general
    if risk.level in _SERIOUS:
        section_ids = _beside_a_notice(section_ids, definition.content.secure)

    targets = words.targets
    return ScoreResult(
        questionnaire=words.questionnaire,
        language=language,
        scores={
            d_id: _scored_part(
                DimensionResult, s, s.mean, label=labels[d_id], target=targets.get(d_id)
            )
            for d_id, s in scoring.dimensions.items()
        },
        tendencies=tuple(
            _scored_part(TendencyResult, t, t.score, id=t.tendency, label=label, target=target)
            for t, (label, target) in zip(tendencies, words.rules, strict=True)
        ),
        primary_tendency=scoring.primary_tendency,
        summary=summary,
        how_scored=" ".join(lines),
        psychoeducation=_sections(content, language, section_ids),
        crisis=(
            crisis.notice(risk.level, risk.triggered_by, country, language)
            if risk.level is not None
            else None
        ),
        help=crisis.help(country, language),
        disclaimer=wording.disclaimer,
        targets=tuple(
            TargetResult(
                id=target_id,
                label=label,
                dimensions=dimension_ids,
                primary_tendency=primaries[target_id],
            )
            for target_id, label, dimension_ids in words.target_parts
        ),
    )
