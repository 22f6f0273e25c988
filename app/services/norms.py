"""Building a norms file from this instance's consenting responses, with differential privacy.

Which responses: exactly those a research export covers (submitted, research consent, scored
with the questionnaire's current content hash or that of an earlier version its definition
declares measures the same, optionally one study and a date range). What is
released, through OpenDP (:mod:`app.services.research.dp`): the number of responses, and per
dimension a histogram of the scores in bins from the scale, one bin per score a fully answered
dimension can have. Epsilon is shared equally by these ``1 + dimensions`` releases and charged
to the questionnaire's own norms budget in the ledger (key ``norms:<questionnaire id>``,
``SECUREBASE_NORMS_TOTAL_EPSILON``), apart from every study's budget.

The released number decides whether the sample is large enough
(``SECUREBASE_NORMS_MIN_SAMPLE``): deciding on the exact number would make the existence of a
norms file depend on one response more or less. A refusal spends the count's share of epsilon
(the noisy count was drawn), and nothing else; a norms file spends all of it. Cumulative shares,
their margins, and clamping negative counts to zero are post-processing of released values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import floor
from typing import Any

from app.errors import FieldProblem, InvalidInput, SecureBaseError
from app.repositories import research_budget, research_data
from app.repositories.research_scope import ResponseFilter
from app.services.research.context import ResearchContext
from app.services.research.dp import MECHANISM, NEIGHBOURING_DISTANCE, PrivateRelease, opendp
from app.services.research.request import MIN_EPSILON, packed_dimensions
from app.services.research.scores import ScoreReader, score_range
from scoring.norms import (
    NORMS_FORMAT,
    cumulative_shares,
    discrete_laplace_variance,
    dump_norms,
    score_bins,
)

LEDGER_PREFIX = "norms:"
LEDGER_KEY_LENGTH = 64
"""The ledger's key column is this long."""
INSTANCE_SOURCE = "this instance"
# Budgets are sums of floats; a release that fits up to rounding fits.
_TOLERANCE = 1e-9


class NormsBudgetExhausted(SecureBaseError):
    status_code = 403
    slug = "norms-budget-exhausted"
    title = "The questionnaire's norms privacy budget does not allow this release"


def ledger_key(questionnaire_id: str) -> str:
    """The ledger row a questionnaire's norms releases are charged to."""
    return LEDGER_PREFIX + questionnaire_id


@dataclass(frozen=True, slots=True)
class NormsRequest:
    questionnaire_id: str
    epsilon: float
    built_by: str
    study: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class NormsRelease:
    """What a build did: the file's text (``None`` when refused), and what it cost."""

    text: str | None
    refusal: str | None
    n_released: int
    epsilon_spent: float
    budget_total: float
    budget_spent: float

    @property
    def budget_left(self) -> float:
        return max(0.0, round(self.budget_total - self.budget_spent, 9))


@lru_cache(maxsize=64)
def noise_scale(categories: int, epsilon: float) -> float:
    """The Laplace scale OpenDP calibrates for counts of ``categories`` bins at ``epsilon``
    (the same search :mod:`app.services.research.dp` makes for its releases)."""
    prelude = opendp()
    query = prelude.t.make_count_by_categories(
        prelude.vector_domain(prelude.atom_domain(T=str)),
        prelude.symmetric_distance(),
        categories=[str(index) for index in range(categories)],
        null_category=False,
        TOA="i64",
    )
    return float(
        prelude.binary_search_param(
            lambda s: query >> prelude.m.then_laplace(s),
            d_in=NEIGHBOURING_DISTANCE,
            d_out=epsilon,
        )
    )


def _check(ctx: ResearchContext, request: NormsRequest) -> None:
    problems: list[FieldProblem] = []
    if ctx.catalog.get(request.questionnaire_id) is None:
        problems.append(
            FieldProblem("questionnaire_id", f"no questionnaire {request.questionnaire_id!r}")
        )
    if len(ledger_key(request.questionnaire_id)) > LEDGER_KEY_LENGTH:
        problems.append(FieldProblem("questionnaire_id", "too long for a ledger key"))
    if not MIN_EPSILON <= request.epsilon <= ctx.settings.norms_total_epsilon:
        problems.append(
            FieldProblem(
                "epsilon",
                f"must be from {MIN_EPSILON:g} to the norms budget "
                f"{ctx.settings.norms_total_epsilon:g}",
            )
        )
    if request.since and request.until and request.since > request.until:
        problems.append(FieldProblem("since", "is after until"))
    if not request.built_by.strip():
        problems.append(FieldProblem("built_by", "must name who built the norms"))
    if problems:
        raise InvalidInput("These norms cannot be built.", problems)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _bin_index(score: Fraction, low: int, items: int) -> int:
    return floor((score - low) * items)


def build(ctx: ResearchContext, request: NormsRequest) -> NormsRelease:
    """Release the norms (or refuse), charging the ledger; the caller commits either way."""
    _check(ctx, request)
    loaded = ctx.catalog.get(request.questionnaire_id)
    assert loaded is not None
    definition = loaded.definition
    now = ctx.now()
    total = ctx.settings.norms_total_epsilon
    key = ledger_key(definition.id)
    row = research_budget.locked(ctx.session, key, now)
    if row.epsilon_spent + request.epsilon > total + _TOLERANCE:
        left = max(0.0, total - row.epsilon_spent)
        raise NormsBudgetExhausted(
            f"These norms need epsilon {request.epsilon:g}, but {key!r} has spent "
            f"{row.epsilon_spent:g} of its {total:g} and has {left:g} left.",
            [FieldProblem("epsilon", f"requested {request.epsilon:g}; left {left:g}")],
        )
    until = request.until or now.date()
    where = ResponseFilter(
        questionnaire_id=definition.id,
        questionnaire_hash=loaded.content_hash,
        same_measure_as=definition.same_measure_as,
        studies=(request.study,) if request.study else None,
        submitted_from=_midnight(request.since) if request.since else None,
        submitted_before=_midnight(until + dt.timedelta(days=1)),
    )
    dimensions = packed_dimensions(definition)
    codes = research_data.dimension_codes(ctx.session, where, None, dimensions, stored=True)
    exact_n = sum(count for (_, index, _), count in codes.items() if index == 0)
    release = PrivateRelease(request.epsilon, 1 + len(dimensions))
    n_released = max(0, release.count(exact_n))

    def charged(text: str | None, refusal: str | None) -> NormsRelease:
        # Each release made spends its planned share (OpenDP certified it within that).
        row.epsilon_spent += release.share * release.made
        row.releases += 1
        row.updated_at = now
        ctx.session.add(row)
        return NormsRelease(
            text, refusal, n_released, release.share * release.made, total, row.epsilon_spent
        )

    needed = ctx.settings.norms_min_sample
    if n_released < needed:
        return charged(
            None,
            f"too few responses for norms: about {n_released} (released with noise), "
            f"at least {needed} are needed",
        )
    reader = ScoreReader(definition, dimensions)
    released_dimensions: dict[str, Any] = {}
    for index, packed in enumerate(dimensions):
        low, high = score_range(packed)
        items = len(packed.items)
        bins = score_bins(low, high, items)
        counts = [0] * len(bins)
        for (_, dimension_index, code), count in codes.items():
            if dimension_index != index:
                continue
            score = reader.read(index, code).score
            if score is not None:
                counts[_bin_index(score, low, items)] += count
        released = [max(0, c) for c in release.counts(counts)]
        if sum(released) == 0:
            return charged(None, f"{packed.id}: every released count is zero")
        variance = discrete_laplace_variance(noise_scale(len(counts), release.share))
        shares = cumulative_shares(released, variance)
        released_dimensions[packed.id] = {
            "bins": [
                {
                    "lower": lower,
                    "upper": upper,
                    "count": count,
                    "below": round(below, 6),
                    "margin": round(margin, 6),
                }
                for (lower, upper), count, (below, margin) in zip(
                    bins, released, shares, strict=True
                )
            ]
        }
    content = {
        "format": NORMS_FORMAT,
        "questionnaire": {
            "id": definition.id,
            "version": definition.version,
            "hash": loaded.content_hash,
        },
        "built": {"on": now.date().isoformat(), "by": request.built_by.strip()},
        "source": {"kind": "instance", "description": INSTANCE_SOURCE, "sample": None},
        "sample": {
            "n": n_released,
            "since": request.since.isoformat() if request.since else None,
            "until": until.isoformat(),
            "study": request.study,
        },
        "privacy": {
            "epsilon": request.epsilon,
            "mechanism": MECHANISM,
            "noise_scale": noise_scale(len(bins), release.share),
            "ledger": key,
        },
        "dimensions": released_dimensions,
    }
    return charged(dump_norms(content), None)


def spent(ctx: ResearchContext, questionnaire_id: str) -> float:
    """The epsilon a questionnaire's norms releases have spent."""
    return research_budget.spent(ctx.session, ledger_key(questionnaire_id))
