"""Norms: where a score stands among the people in a norm sample.

A norms file (``norms/<questionnaire id>/<date>.yaml`` beside the definitions) holds, per
dimension, bins of scores from the scale and for each bin the share of the norm sample scoring
below its lower edge, with the margin of that share (about 95%) from the noise a differentially
private release adds. It names the definition's content hash it was built from: a file applies
only to results scored with exactly that definition, or with a later version that declares it
measures the same (``research.same_measure_as``: only presentation text changed, so the same
scores mean the same). Its checksum covers everything else in the file, so an edit by hand
shows.

Comparing a score with the norms gives the share of the sample scoring below it, as a
percentile with an interval holding both the noise margin and the spread within the score's
bin (a score on a bin's lower edge has none), rounded outward, and a plain phrase.

Nothing here reads a database or imports the application: the CLI builds the numbers, this
module checks, finds and reads them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scoring import yaml_text
from scoring.loading import DefinitionError, DefinitionProblem, LoadedDefinition

NORMS_FORMAT = "securebase-norms/1"
NORMS_FOLDER = "norms"
Z_95 = 1.959963984540054
"""The two-sided 95% point of the normal distribution: margins are about 95% intervals."""
_EDGE_TOLERANCE = 1e-9
"""A score this close to a bin's lower edge is on it (scores are means of whole numbers)."""
_SHARE_TOLERANCE = 1e-6


class NormsModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NormsQuestionnaire(NormsModel):
    id: str
    version: str
    hash: str


class NormsBuilt(NormsModel):
    on: dt.date
    by: str = Field(min_length=1, max_length=200)


class NormsSource(NormsModel):
    kind: Literal["instance", "study"]
    description: str = Field(min_length=1)
    """``this instance``, or the published study's reference."""
    sample: str | None = None
    """For a published study: who the sample were and how they were recruited."""


class NormsSample(NormsModel):
    n: int = Field(ge=1)
    """The number of responses, as released (with noise when the privacy section says so)."""
    since: dt.date | None = None
    until: dt.date | None = None
    study: str | None = None


class NormsPrivacy(NormsModel):
    epsilon: float = Field(gt=0)
    mechanism: str
    noise_scale: float = Field(ge=0)
    """The Laplace scale of the noise added to each released count."""
    ledger: str
    """The privacy budget the epsilon was charged to."""


class NormBin(NormsModel):
    lower: float
    upper: float
    """The bin holds ``lower <= score < upper``; a last bin with ``lower == upper`` holds
    exactly that score."""
    count: int = Field(ge=0)
    below: float = Field(ge=0, le=1)
    """The share of the sample scoring below ``lower`` (a cumulative share)."""
    margin: float = Field(ge=0, le=1)
    """Half the width of an about 95% interval around ``below``."""


class DimensionNorms(NormsModel):
    bins: tuple[NormBin, ...] = Field(min_length=1)


class NormsFile(NormsModel):
    format: Literal["securebase-norms/1"]
    questionnaire: NormsQuestionnaire
    built: NormsBuilt
    source: NormsSource
    sample: NormsSample
    privacy: NormsPrivacy | None = None
    dimensions: dict[str, DimensionNorms]
    checksum: str

    def content_checksum(self) -> str:
        return content_checksum(self.model_dump(mode="json", exclude={"checksum"}))


def content_checksum(content: Mapping[str, Any]) -> str:
    """``sha256:`` of the canonical JSON of a norms file's content without its checksum."""
    canonical = json.dumps(
        {k: v for k, v in content.items() if k != "checksum"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- building the shares ---------------------------------------------------------------------


def score_bins(low: int, high: int, items: int) -> list[tuple[float, float]]:
    """The bins of a dimension's scores: one per possible mean of ``items`` whole-number
    answers from ``low`` to ``high`` (so a fully answered dimension's score is always a bin's
    lower edge), the last holding only the highest score."""
    steps = (high - low) * items
    lowers = [low + step / items for step in range(steps + 1)]
    return [(lowers[i], lowers[i + 1] if i < steps else float(high)) for i in range(len(lowers))]


def discrete_laplace_variance(scale: float) -> float:
    """The variance of integer Laplace noise of ``scale`` (``P(k) ~ exp(-|k| / scale)``)."""
    if scale <= 0:
        return 0.0
    t = math.exp(-1.0 / scale)
    return 2 * t / (1 - t) ** 2


def cumulative_shares(counts: Sequence[int], noise_variance: float) -> list[tuple[float, float]]:
    """Per bin, the share of the total below it and the about-95% margin of that share when
    each count carries independent noise of ``noise_variance`` (delta method on
    ``S / (S + R)``, S the counts before the bin and R the rest)."""
    total = sum(counts)
    if total <= 0:
        raise ValueError("no responses in the released counts")
    shares: list[tuple[float, float]] = []
    before = 0
    for index, count in enumerate(counts):
        share = before / total
        var_before = index * noise_variance
        var_rest = (len(counts) - index) * noise_variance
        spread = math.sqrt((1 - share) ** 2 * var_before + share**2 * var_rest) / total
        shares.append((share, min(1.0, Z_95 * spread)))
        before += count
    return shares


# --- checking a file -------------------------------------------------------------------------


def _structure_problems(norms: NormsFile, where: str) -> list[DefinitionProblem]:
    problems: list[DefinitionProblem] = []
    if norms.checksum != norms.content_checksum():
        problems.append(
            DefinitionProblem(where, "checksum", "does not match the content (edited by hand?)")
        )
    if norms.privacy is None and norms.source.kind == "instance":
        problems.append(
            DefinitionProblem(where, "privacy", "norms from this instance need a privacy section")
        )
    if norms.source.kind == "study" and not norms.source.sample:
        problems.append(
            DefinitionProblem(where, "source.sample", "a published study's sample must be stated")
        )
    if norms.sample.since and norms.sample.until and norms.sample.since > norms.sample.until:
        problems.append(DefinitionProblem(where, "sample.since", "is after sample.until"))
    for dimension_id, dimension in norms.dimensions.items():
        path = f"dimensions.{dimension_id}.bins"
        bins = dimension.bins
        if bins[0].below > _SHARE_TOLERANCE:
            problems.append(DefinitionProblem(where, path, "the first bin must have below 0"))
        for i, (this, after) in enumerate(itertools.pairwise(bins)):
            if abs(this.upper - after.lower) > _EDGE_TOLERANCE or this.lower >= this.upper:
                problems.append(DefinitionProblem(where, f"{path}[{i}]", "bins are not contiguous"))
            if after.below + _SHARE_TOLERANCE < this.below:
                problems.append(
                    DefinitionProblem(where, f"{path}[{i + 1}]", "cumulative shares decrease")
                )
        if bins[-1].upper < bins[-1].lower:
            problems.append(DefinitionProblem(where, f"{path}[-1]", "upper is below lower"))
    return problems


def _definition_problems(
    norms: NormsFile, loaded: LoadedDefinition, where: str
) -> list[DefinitionProblem]:
    definition = loaded.definition
    problems: list[DefinitionProblem] = []
    expected = {d.id for d in definition.dimensions}
    if set(norms.dimensions) != expected:
        problems.append(
            DefinitionProblem(
                where, "dimensions", f"must be exactly the definition's {sorted(expected)}"
            )
        )
    for dimension_id, dimension in norms.dimensions.items():
        if dimension_id not in expected:
            continue
        scales = [definition.scales[i.scale] for i in definition.items_of(dimension_id)]
        low, high = min(s.min for s in scales), max(s.max for s in scales)
        bins = dimension.bins
        spans = abs(bins[0].lower - low) <= _EDGE_TOLERANCE
        if not spans or abs(bins[-1].upper - high) > _EDGE_TOLERANCE:
            problems.append(
                DefinitionProblem(
                    where, f"dimensions.{dimension_id}.bins", f"must span the scale {low}..{high}"
                )
            )
    return problems


def parse_norms(path: Path) -> NormsFile:
    """Read one norms file, or raise :class:`DefinitionError` saying what is wrong."""
    where = str(path)
    try:
        raw = yaml_text.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError([DefinitionProblem(where, "", f"cannot be read: {exc}")]) from exc
    try:
        norms = NormsFile.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError(
            [
                DefinitionProblem(where, ".".join(str(p) for p in error["loc"]), error["msg"])
                for error in exc.errors()
            ]
        ) from exc
    problems = _structure_problems(norms, where)
    if problems:
        raise DefinitionError(problems)
    return norms


NormsFileAt = tuple[Path, NormsFile]
"""A norms file as read, with where it was read from."""


def _parsed(paths: Iterable[Path], problems: list[DefinitionProblem]) -> Iterator[NormsFileAt]:
    """Each norms file that parses, with its path, as it is reached; the problems of one that
    does not are added to ``problems`` in its place."""
    for path in paths:
        try:
            yield path, parse_norms(path)
        except DefinitionError as exc:
            problems += exc.problems


def _by_measured_hash(definitions: Iterable[LoadedDefinition]) -> dict[str, LoadedDefinition]:
    """Each definition under its own content hash and under those of the earlier versions it
    declares measure the same (its own hash wins)."""
    definitions = list(definitions)
    by_hash = {d.content_hash: d for d in definitions}
    for loaded in definitions:
        for earlier in loaded.definition.same_measure_as:
            by_hash.setdefault(earlier, loaded)
    return by_hash


def _fitting(
    parsed: Iterable[NormsFileAt],
    definitions: Iterable[LoadedDefinition],
    problems: list[DefinitionProblem],
) -> list[NormsFileAt]:
    """The norms files that fit the definition whose content hash each names (or that
    declares that hash measures the same); the problems of the others are added to
    ``problems``."""
    by_hash = _by_measured_hash(definitions)
    passed: list[NormsFileAt] = []
    for path, norms in parsed:
        loaded = by_hash.get(norms.questionnaire.hash)
        if loaded is None or loaded.definition.id != norms.questionnaire.id:
            problems.append(
                DefinitionProblem(
                    str(path),
                    "questionnaire.hash",
                    f"{norms.questionnaire.hash} is not the content hash of any definition of "
                    f"{norms.questionnaire.id!r} loaded, nor one such a definition declares "
                    "measures the same",
                )
            )
            continue
        found = _definition_problems(norms, loaded, str(path))
        if found:
            problems += found
            continue
        passed.append((path, norms))
    return passed


def check_norms(
    paths: Iterable[Path], definitions: Iterable[LoadedDefinition]
) -> tuple[list[NormsFileAt], list[DefinitionProblem]]:
    """Check norms files, each against the definition whose content hash it names: the
    files that pass and every problem found, file by file."""
    problems: list[DefinitionProblem] = []
    passed = _fitting(_parsed(paths, problems), definitions, problems)
    return passed, problems


def norms_files(directory: Path) -> list[Path]:
    """The norms files under ``directory/norms/<questionnaire id>/``."""
    root = directory / NORMS_FOLDER
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*.yaml") if p.is_file())


def is_norms_path(path: Path) -> bool:
    """Whether a file given to ``questionnaires validate`` is a norms file: one that says so
    in its ``format`` (anything else is checked as a definition)."""
    try:
        raw = yaml_text.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and str(raw.get("format", "")).startswith("securebase-norms/")


@dataclass(frozen=True)
class NormsShelf:
    """The norms in use: per definition content hash, the most recently built file for it or
    for an earlier version it declares measures the same."""

    by_hash: Mapping[str, NormsFile]

    @classmethod
    def load(
        cls, directories: Iterable[Path], definitions: Iterable[LoadedDefinition]
    ) -> NormsShelf:
        """Every norms file under the directories. A file that is broken or tampered with is
        an error; a file for another content hash (an earlier version of a definition) is
        history and is left out."""
        by_hash = _by_measured_hash(definitions)
        paths = [p for directory in directories for p in norms_files(directory)]
        problems: list[DefinitionProblem] = []
        current = [
            (path, norms)
            for path, norms in _parsed(paths, problems)
            if norms.questionnaire.hash in by_hash
        ]
        passed = _fitting(current, by_hash.values(), problems)
        if problems:
            raise DefinitionError(problems)
        chosen: dict[str, tuple[tuple[dt.date, str], NormsFile]] = {}
        for path, norms in passed:
            rank = (norms.built.on, path.name)
            applies_to = by_hash[norms.questionnaire.hash].content_hash
            previous = chosen.get(applies_to)
            if previous is None or rank > previous[0]:
                chosen[applies_to] = (rank, norms)
        return cls({h: norms for h, (_, norms) in chosen.items()})

    def get(self, content_hash: str) -> NormsFile | None:
        return self.by_hash.get(content_hash)


NO_NORMS = NormsShelf({})


# --- comparing a result with the norms -------------------------------------------------------


class NormPercentile(NormsModel):
    percentile: int = Field(ge=0, le=100, description="Share of the norm sample scoring below.")
    low: int = Field(ge=0, le=100, description="Lower end of the about-95% interval.")
    high: int = Field(ge=0, le=100, description="Upper end of the about-95% interval.")
    phrase: str = Field(description='In words, e.g. "about 70 in 100".')
    middle_half: tuple[float, float] | None = Field(
        default=None,
        description="The scores of the norm sample's 25th and 75th percentiles: the middle "
        "half of the sample scored between them (none on results stored before it was kept).",
    )


class NormSampleRef(NormsModel):
    n: int
    since: dt.date | None
    until: dt.date | None
    source: str
    kind: Literal["instance", "study"]
    built_on: dt.date
    epsilon: float | None = Field(description="The privacy cost of the release; none for a study.")


class NormComparison(NormsModel):
    """Where the person's scores stand in a norm sample."""

    sample: NormSampleRef
    dimensions: dict[str, NormPercentile]


def _phrase(percentile: int, low: int, high: int) -> str:
    # A wide interval is said in fives: the exact number would claim more than is known.
    shown = 5 * round(percentile / 5) if high - low > 10 else percentile
    if shown <= 0:
        return f"fewer than {max(1, high)} in 100"
    if shown >= 100:
        return f"more than {min(99, low)} in 100"
    return f"about {shown} in 100"


def percentile_of(dimension: DimensionNorms, score: float) -> NormPercentile:
    """The share of the sample scoring below ``score``, with its interval, rounded outward."""
    bins = dimension.bins
    lowers = [b.lower for b in bins]
    index = max(0, min(len(bins) - 1, bisect.bisect_right(lowers, score + _EDGE_TOLERANCE) - 1))
    here = bins[index]
    if abs(score - here.lower) <= _EDGE_TOLERANCE or here.upper <= here.lower:
        point, low, high = here.below, here.below - here.margin, here.below + here.margin
    else:
        after_below, after_margin = (
            (bins[index + 1].below, bins[index + 1].margin) if index + 1 < len(bins) else (1.0, 0.0)
        )
        within = min(1.0, max(0.0, (score - here.lower) / (here.upper - here.lower)))
        point = here.below + (after_below - here.below) * within
        low, high = here.below - here.margin, after_below + after_margin
    low_pct = math.floor(max(0.0, low) * 100 + 1e-9)
    high_pct = math.ceil(min(1.0, high) * 100 - 1e-9)
    percentile = min(high_pct, max(low_pct, round(point * 100)))
    return NormPercentile(
        percentile=percentile,
        low=low_pct,
        high=high_pct,
        phrase=_phrase(percentile, low_pct, high_pct),
    )


def score_at(dimension: DimensionNorms, share: float) -> float:
    """The score below which ``share`` of the sample falls: the inverse of the cumulative
    shares, read linearly between bins' lower edges (as :func:`percentile_of` reads them)."""
    edges = [(b.lower, b.below) for b in dimension.bins]
    last = dimension.bins[-1]
    edges.append((max(last.upper, last.lower), 1.0))
    for (lower, below), (upper, after) in itertools.pairwise(edges):
        if after >= share and after > below:
            within = min(1.0, max(0.0, (share - below) / (after - below)))
            return round(lower + (upper - lower) * within, 2)
    return round(edges[-1][0], 2)


def middle_half(dimension: DimensionNorms) -> tuple[float, float]:
    """The scores of the 25th and 75th percentiles of the norm sample."""
    return score_at(dimension, 0.25), score_at(dimension, 0.75)


def compare(norms: NormsFile, scores: Mapping[str, float | None]) -> NormComparison:
    """Each scored dimension's place in the norm sample."""
    return NormComparison(
        sample=NormSampleRef(
            n=norms.sample.n,
            since=norms.sample.since,
            until=norms.sample.until,
            source=norms.source.description,
            kind=norms.source.kind,
            built_on=norms.built.on,
            epsilon=norms.privacy.epsilon if norms.privacy is not None else None,
        ),
        dimensions={
            dimension_id: percentile_of(norms.dimensions[dimension_id], score).model_copy(
                update={"middle_half": middle_half(norms.dimensions[dimension_id])}
            )
            for dimension_id, score in scores.items()
            if score is not None and dimension_id in norms.dimensions
        },
    )


def dump_norms(content: Mapping[str, Any]) -> str:
    """A norms file's text: the content, checked, in a stable order with its checksum last."""
    draft = NormsFile.model_validate({**content, "checksum": ""})
    body = draft.model_dump(mode="json", exclude={"checksum"})
    body["checksum"] = content_checksum(body)
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
