"""Differentially private releases through OpenDP (no noise is drawn here by hand).

The privacy unit is one response: two datasets are neighbours when one has a response more
or fewer than the other (OpenDP's ``symmetric_distance`` of 1). An export that releases m
quantities with a total budget epsilon gives each ``epsilon / m`` (sequential composition:
the losses add up), so the whole export is epsilon-differentially private.

For each quantity, OpenDP states the query on the response-level data (a count, a count per
category, or a sum of values bounded by the *scale*, never by the data) and so its
sensitivity; ``binary_search_param`` finds the smallest Laplace scale whose privacy map gives
at most the quantity's share of epsilon; and the release applies that same OpenDP Laplace
measurement to the query's exact answer, which the database computed. The measurement on the
aggregate is exactly the last stage of the response-level chain, so the release has the
guarantee OpenDP proves for the chain (the guarantee is checked again before each release).
Counts get integer (discrete) Laplace noise, sums continuous Laplace noise.

Everything computed from released values afterwards (shares, means, clamping to the scale or
to zero) is post-processing and costs no further privacy.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from types import ModuleType
from typing import Any

NEIGHBOURING_DISTANCE = 1
"""One response added or removed."""

MECHANISM = (
    "OpenDP Laplace mechanism (discrete Laplace for counts), calibrated by OpenDP to each "
    "query's sensitivity under the addition or removal of one response; the export's epsilon "
    "is shared equally by its released quantities (sequential composition)"
)


@cache
def opendp() -> ModuleType:
    """OpenDP's prelude, imported on the first private release (not when the application
    starts: most processes never make one), with its contrib features enabled."""
    import opendp.prelude as prelude

    prelude.enable_features("contrib")
    return prelude


class PrivacyLossExceeded(RuntimeError):
    """OpenDP does not certify a release within its share of epsilon."""


@lru_cache(maxsize=64)
def _count_chain(epsilon: float) -> tuple[Any, Any]:
    dp = opendp()
    query = dp.t.make_count(
        dp.vector_domain(dp.atom_domain(T=bool)), dp.symmetric_distance(), TO="i64"
    )
    return _calibrated(query, epsilon)


@lru_cache(maxsize=64)
def _histogram_chain(categories: int, epsilon: float) -> tuple[Any, Any]:
    dp = opendp()
    query = dp.t.make_count_by_categories(
        dp.vector_domain(dp.atom_domain(T=str)),
        dp.symmetric_distance(),
        categories=[str(index) for index in range(categories)],
        null_category=False,
        TOA="i64",
    )
    return _calibrated(query, epsilon)


@lru_cache(maxsize=64)
def _sum_chain(low: float, high: float, epsilon: float) -> tuple[Any, Any]:
    dp = opendp()
    query = dp.t.make_sum(
        dp.vector_domain(dp.atom_domain(bounds=(float(low), float(high)))),
        dp.symmetric_distance(),
    )
    return _calibrated(query, epsilon)


def _calibrated(query: Any, epsilon: float) -> tuple[Any, Any]:
    """The query and the Laplace measurement on its output, at the smallest scale OpenDP
    certifies for ``epsilon``."""
    dp = opendp()
    scale = dp.binary_search_param(
        lambda s: query >> dp.m.then_laplace(s), d_in=NEIGHBOURING_DISTANCE, d_out=epsilon
    )
    noise = dp.m.make_laplace(query.output_domain, query.output_metric, scale)
    return query, noise


class PrivateRelease:
    """The releases of one export, sharing its epsilon equally."""

    def __init__(self, epsilon: float, releases: int) -> None:
        if epsilon <= 0 or releases < 1:
            raise ValueError("a private release needs a positive epsilon and at least one query")
        self.epsilon = epsilon
        self.releases = releases
        self.share = epsilon / releases
        self.spent = 0.0
        self.made = 0

    def _release(self, chain: tuple[Any, Any], exact: Any) -> Any:
        query, noise = chain
        if self.made >= self.releases:
            raise PrivacyLossExceeded(f"all {self.releases} planned releases are made")
        loss = float((query >> noise).map(NEIGHBOURING_DISTANCE))
        if loss > self.share:
            raise PrivacyLossExceeded(f"a release would lose {loss} > {self.share}")
        self.spent += loss
        self.made += 1
        return noise(exact)

    def count(self, exact: int) -> int:
        """A noisy count (may be negative or exceed the truth; clamp as post-processing)."""
        return int(self._release(_count_chain(self.share), int(exact)))

    def counts(self, exact: Sequence[int]) -> list[int]:
        """Noisy counts of a partition into public categories (one response changes one)."""
        released = self._release(_histogram_chain(len(exact), self.share), [int(v) for v in exact])
        return [int(v) for v in released]

    def bounded_sum(self, exact: float, low: float, high: float) -> float:
        """A noisy sum of values that the scale bounds to ``[low, high]``."""
        return float(self._release(_sum_chain(float(low), float(high), self.share), float(exact)))
