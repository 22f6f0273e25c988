"""Scoring many answer sets at once, by exactly the rules of the single scorer.

The rules are those of :mod:`scoring.engine` (reverse keying, the answered-fraction rule,
bands and borderline, the primary tendency), :mod:`scoring.answers` (what a valid answer is)
and :mod:`scoring.risk` (the crisis level), applied to a whole matrix of answer sets with
numpy instead of to one dictionary at a time. The results are identical to the last digit:

- A dimension's mean is the exact integer sum of its keyed answers, converted to a float,
  divided by the count, which is what ``math.fsum(keyed) / len(keyed)`` computes for
  integers. Sums stay exact because the fast path only runs when every scale bound lies
  within +-2**31 (:attr:`BatchScorer.vectorizable`); otherwise every row takes the single
  scorer.
- Bands, borderline and distances use the same float operations in the same order.
- The crisis level comes from :func:`scoring.risk.assess_risk` itself, called once for each
  distinct combination of wellbeing answers in the batch.
- A row with anything the fast path cannot vouch for (a value that is not a whole number,
  off its scale, an unknown item) goes through the single scorer, so it gets its own
  problems and its crisis level exactly as when it is scored alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.answers import AnswerProblem, check_answers
from scoring.definition import BandId, Bands, Definition
from scoring.engine import (
    DimensionScore,
    PrimaryTendency,
    Scoring,
    TendencyScore,
    needed_answers,
    score,
)
from scoring.risk import RiskAssessment, assess_risk

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

BAND_NAMES: tuple[BandId, BandId, BandId] = ("low", "moderate", "elevated")
_BAND_RANK: dict[BandId, int] = {band: rank for rank, band in enumerate(BAND_NAMES)}
NO_BAND = -1
NO_PRIMARY = -1
_BOUND = 2**31
"""Scale bounds within this keep every sum of keyed answers an exact int64 and an exact
float64 (below 2**53 for up to 2**20 items)."""
_MAX_ITEMS = 2**20
_RISK_CACHE_SIZE = 4096
_BORDERLINE_TOLERANCE = 1e-9  # the same tolerance as Bands.is_borderline


@dataclass(frozen=True, slots=True)
class AnswerSetResult:
    """One answer set scored: its crisis level, the problems that kept it from being scored
    (empty when valid), and its scoring (None when it has problems)."""

    risk: RiskAssessment
    problems: tuple[AnswerProblem, ...]
    scoring: Scoring | None


def score_one(definition: Definition, raw: Mapping[str, object]) -> AnswerSetResult:
    """The single scorer, row by row: risk on the raw answers first, then validity, then
    the score of the valid ones."""
    risk = assess_risk(definition, raw)
    answers, problems = check_answers(definition, raw)
    if problems:
        return AnswerSetResult(risk, tuple(problems), None)
    return AnswerSetResult(risk, (), score(definition, answers))


@dataclass(frozen=True, slots=True)
class MatrixScores:
    """The scores of n answer sets as arrays (row-major, one column per dimension or
    tendency in definition order)."""

    means: FloatArray  # n x D, NaN where insufficient
    answered: Int64Array  # n x D
    sufficient: BoolArray  # n x D
    bands: Int64Array  # n x D: index into BAND_NAMES, NO_BAND where insufficient
    borderline: BoolArray  # n x D
    elevated: BoolArray  # n x T
    distances: FloatArray  # n x T, NaN where insufficient
    primary: Int64Array  # n: tendency index, len(tendencies) for secure, NO_PRIMARY for none
    risk: list[RiskAssessment]  # n


class BatchScorer:
    """A definition prepared for scoring answer matrices.

    Columns: the attachment items in definition order, then the wellbeing items, then the
    demographic items. A row's values are meaningful only where ``answered`` is true.
    """

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        items = definition.items
        wellbeing = definition.wellbeing_items
        self.item_count = len(items)
        self.columns: tuple[str, ...] = (
            *(i.id for i in items),
            *(w.id for w in wellbeing),
            *(d.id for d in definition.demographics),
        )
        self.column_of: dict[str, int] = {c: k for k, c in enumerate(self.columns)}
        scales = [definition.scales[i.scale] for i in items] + [
            definition.scales[w.scale] for w in wellbeing
        ]
        lows = [s.min for s in scales] + [1] * len(definition.demographics)
        highs = [s.max for s in scales] + [len(d.options) for d in definition.demographics]
        self.vectorizable = (
            all(-_BOUND <= v <= _BOUND for v in (*lows, *highs))
            and len(items) <= _MAX_ITEMS
            and all(_exact_float(t) for d in definition.dimensions for t in _thresholds(d.bands))
        )
        if not self.vectorizable:
            lows = highs = [0] * len(self.columns)
        self.lows = np.array(lows, dtype=np.int64)
        self.highs = np.array(highs, dtype=np.int64)
        item_lows, item_highs = self.lows[: len(items)], self.highs[: len(items)]
        self.reverse = np.array([i.reverse for i in items], dtype=np.bool_)
        self.reversed_offset = item_lows + item_highs  # min + max - x
        self.dimension_columns = [
            np.array([k for k, i in enumerate(items) if i.dimension == d.id], dtype=np.intp)
            for d in definition.dimensions
        ]
        self.needed = np.array(
            [
                needed_answers(len(cols), d.min_answered_fraction)
                for d, cols in zip(definition.dimensions, self.dimension_columns, strict=True)
            ],
            dtype=np.int64,
        )
        self.of = [len(cols) for cols in self.dimension_columns]
        dimension_index = {d.id: k for k, d in enumerate(definition.dimensions)}
        self.tendency_dimension = [dimension_index[t.dimension] for t in definition.tendencies]
        self.tendency_rank = [_BAND_RANK[t.elevated_band] for t in definition.tendencies]
        self.wellbeing_columns = np.arange(len(items), len(items) + len(wellbeing), dtype=np.intp)
        self._risks: dict[tuple[int, ...], RiskAssessment] = {}
        """Risk by wellbeing answers, kept across batches (they are few)."""
        self.primary_names: list[PrimaryTendency | None] = [
            *(t.id for t in definition.tendencies),
            "secure",
        ]

    # Rows given as mappings (e.g. the JSON of an HTTP request).

    def from_mappings(
        self, answer_sets: Sequence[Mapping[str, object]]
    ) -> tuple[Int64Array, BoolArray, BoolArray]:
        """The answer matrix of ``answer_sets``, and which rows the fast path can vouch for
        (every answer a known item's whole number on its scale)."""
        n, width = len(answer_sets), len(self.columns)
        values = np.zeros((n, width), dtype=np.int64)
        answered = np.zeros((n, width), dtype=np.bool_)
        plain = np.full(n, self.vectorizable, dtype=np.bool_)
        if not self.vectorizable:
            return values, answered, plain
        column_of = self.column_of
        lows, highs = self.lows.tolist(), self.highs.tolist()
        for row, raw in enumerate(answer_sets):
            for item_id, value in raw.items():
                k = column_of.get(item_id)
                if k is None or type(value) is not int or not lows[k] <= value <= highs[k]:
                    plain[row] = False
                    break
                values[row, k] = value
                answered[row, k] = True
        return values, answered, plain

    # The rules.

    def score_matrix(self, values: Int64Array, answered: BoolArray) -> MatrixScores:
        """Score valid answer sets (every answered value on its item's scale)."""
        definition = self.definition
        n = values.shape[0]
        items = values[:, : self.item_count]
        item_answered = answered[:, : self.item_count]
        keyed = np.where(self.reverse, self.reversed_offset - items, items)
        keyed = np.where(item_answered, keyed, 0)
        dimension_count = len(definition.dimensions)
        sums = np.empty((n, dimension_count), dtype=np.int64)
        counts = np.empty((n, dimension_count), dtype=np.int64)
        for d, cols in enumerate(self.dimension_columns):
            sums[:, d] = keyed[:, cols].sum(axis=1)
            counts[:, d] = item_answered[:, cols].sum(axis=1)
        sufficient = counts >= self.needed
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums.astype(np.float64) / counts.astype(np.float64)
        means[~sufficient] = np.nan
        bands = np.full((n, dimension_count), NO_BAND, dtype=np.int64)
        borderline = np.zeros((n, dimension_count), dtype=np.bool_)
        for d, dimension in enumerate(definition.dimensions):
            b = dimension.bands
            mean = means[:, d]
            with np.errstate(invalid="ignore"):
                band = np.where(mean >= b.elevated_from, 2, np.where(mean >= b.moderate_from, 1, 0))
                limit = b.borderline_margin + _BORDERLINE_TOLERANCE
                near = (np.abs(mean - b.moderate_from) <= limit) | (
                    np.abs(mean - b.elevated_from) <= limit
                )
            bands[:, d] = np.where(sufficient[:, d], band, NO_BAND)
            borderline[:, d] = near & sufficient[:, d]
        tendency_count = len(definition.tendencies)
        elevated = np.zeros((n, tendency_count), dtype=np.bool_)
        distances = np.full((n, tendency_count), np.nan, dtype=np.float64)
        for t, (d, rank) in enumerate(
            zip(self.tendency_dimension, self.tendency_rank, strict=True)
        ):
            elevated[:, t] = sufficient[:, d] & (bands[:, d] >= rank)
            threshold = definition.dimensions[d].bands.elevated_from
            distances[:, t] = means[:, d] - threshold
        # Secure only against named tendencies, and never for a response answered per
        # relationship, which has no single tendency (scoring.engine).
        all_sufficient = sufficient.all(axis=1) & bool(tendency_count and not definition.targets)
        primary = np.where(all_sufficient, tendency_count, NO_PRIMARY).astype(np.int64)
        if tendency_count:
            any_elevated = elevated.any(axis=1)
            best = np.argmax(np.where(elevated, distances, -np.inf), axis=1)
            primary = np.where(any_elevated, best, primary)
        return MatrixScores(
            means=means,
            answered=counts,
            sufficient=sufficient,
            bands=bands,
            borderline=borderline,
            elevated=elevated,
            distances=distances,
            primary=primary,
            risk=self.assess_risks(values, answered),
        )

    def assess_risks(self, values: Int64Array, answered: BoolArray) -> list[RiskAssessment]:
        """Each row's risk, by :func:`scoring.risk.assess_risk` on each distinct combination
        of wellbeing answers (there are few)."""
        n = values.shape[0]
        cols = self.wellbeing_columns
        if n == 0:
            return []
        if len(cols) == 0:
            return [assess_risk(self.definition, {})] * n
        given = answered[:, cols]
        offsets = np.where(given, values[:, cols] - self.lows[cols] + 1, 0)  # 0: unanswered
        radices = (self.highs[cols] - self.lows[cols] + 2).tolist()
        if np.prod(np.array(radices, dtype=np.float64)) < 2.0**62:
            # One integer per combination, so finding the distinct ones is a 1-D unique.
            weights = np.cumprod([1, *radices[:-1]]).astype(np.int64)
            keys = offsets @ weights
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(offsets, axis=0, return_index=True, return_inverse=True)
        ids = [self.columns[k] for k in cols.tolist()]
        lows = self.lows[cols].tolist()
        assessments = [
            self._risk_of(
                tuple(combination),
                {
                    i: low + offset - 1
                    for i, low, offset in zip(ids, lows, combination, strict=True)
                    if offset
                },
            )
            for combination in offsets[first].tolist()
        ]
        return [assessments[k] for k in inverse.reshape(-1).tolist()]

    def _risk_of(self, combination: tuple[int, ...], raw: dict[str, int]) -> RiskAssessment:
        found = self._risks.get(combination)
        if found is None:
            found = assess_risk(self.definition, raw)
            if len(self._risks) < _RISK_CACHE_SIZE:
                self._risks[combination] = found
        return found

    # Results as the single scorer's objects.

    def scorings(self, scores: MatrixScores, rows: Sequence[int]) -> list[Scoring]:
        """The :class:`scoring.engine.Scoring` of each of ``rows``."""
        definition = self.definition
        dimension_ids = [d.id for d in definition.dimensions]
        results = []
        means = scores.means.tolist()
        answered = scores.answered.tolist()
        bands = scores.bands.tolist()
        borderline = scores.borderline.tolist()
        elevated = scores.elevated.tolist()
        primary = scores.primary.tolist()
        for row in rows:
            dimensions: dict[str, DimensionScore] = {}
            for d, dimension_id in enumerate(dimension_ids):
                band = bands[row][d]
                sufficient = band != NO_BAND
                dimensions[dimension_id] = DimensionScore(
                    dimension=dimension_id,
                    mean=means[row][d] if sufficient else None,
                    band=BAND_NAMES[band] if sufficient else None,
                    answered=answered[row][d],
                    of=self.of[d],
                    needed=int(self.needed[d]),
                    borderline=borderline[row][d],
                )
            tendencies = []
            for t, rule in enumerate(definition.tendencies):
                dimension = dimensions[rule.dimension]
                tendencies.append(
                    TendencyScore(
                        tendency=rule.id,
                        dimension=rule.dimension,
                        score=dimension.mean,
                        band=dimension.band,
                        elevated=elevated[row][t],
                        borderline=dimension.borderline,
                        distance_above_threshold=(
                            None
                            if dimension.mean is None
                            else dimension.mean
                            - definition.dimensions[self.tendency_dimension[t]].bands.elevated_from
                        ),
                    )
                )
            p = primary[row]
            results.append(
                Scoring(
                    dimensions,
                    tuple(tendencies),
                    None if p == NO_PRIMARY else self.primary_names[p],
                )
            )
        return results


def score_answer_sets(
    definition: Definition, answer_sets: Sequence[Mapping[str, object]]
) -> list[AnswerSetResult]:
    """Score many answer sets at once; each result is what the single scorer gives for that
    answer set alone (:func:`score_one`): its crisis level always, and either its problems
    or its scoring."""
    scorer = BatchScorer(definition)
    values, answered, plain = scorer.from_mappings(answer_sets)
    rows = np.flatnonzero(plain)
    scores = scorer.score_matrix(values[rows], answered[rows])
    fast = dict(
        zip(
            rows.tolist(),
            zip(scores.risk, scorer.scorings(scores, range(len(rows))), strict=True),
            strict=True,
        )
    )
    results: list[AnswerSetResult] = []
    for row, raw in enumerate(answer_sets):
        found = fast.get(row)
        if found is None:
            results.append(score_one(definition, raw))
        else:
            results.append(AnswerSetResult(found[0], (), found[1]))
    return results


def _thresholds(bands: Bands) -> tuple[float, ...]:
    return (bands.moderate_from, bands.elevated_from, bands.borderline_margin)


def _exact_float(number: float) -> bool:
    """A threshold that numpy compares exactly as Python does: a float, or an int a float
    holds exactly."""
    try:
        return bool(float(number) == number)
    except OverflowError:
        return False


__all__ = [
    "AnswerSetResult",
    "BatchScorer",
    "MatrixScores",
    "score_answer_sets",
    "score_one",
]
