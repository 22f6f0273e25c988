"""Descriptive statistics, correlation and reliability, computed exactly from aggregates.

The database returns counts and integer sums; everything here is computed with exact rational
arithmetic (:class:`fractions.Fraction`) and rounded to a float only at the end, so a value is
as exact as a float can hold whatever N is (no cancellation in ``sum x^2 - (sum x)^2 / n``).

Missing data, throughout: a statistic uses the responses that have the value it needs and
ignores the others; nothing is imputed. Which responses those are is stated with each one:

* dimension scores: responses with enough answers for the dimension to be scored (the scoring
  rules' minimum fraction); a dimension without a score is left out of that dimension only;
* item statistics: the responses that answered the item (available cases);
* reliability (alpha, alpha if item deleted, corrected item-total correlation): the responses
  that answered every item of the dimension (listwise deletion within the dimension), so that
  every variance and covariance comes from the same people;
* correlations of dimension scores: the responses scored on every dimension (listwise), the
  same people for every pair.

A statistic that is undefined for the data (an SD from one value, a correlation with a
constant) is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from app.schemas.research import DimensionSummary


def to_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def sqrt(value: Fraction) -> float:
    """The square root of an exact non-negative value, rounded once."""
    return math.sqrt(float(value))


def describe(frequencies: Mapping[Fraction, int]) -> DimensionSummary:
    """Describe a variable given as exact values and how many responses have each: its N,
    mean, SD, quartiles and range, in the form the summary export publishes them.

    * mean: ``sum(x) / n``.
    * sd: the sample standard deviation, ``sqrt(sum((x - mean)^2) / (n - 1))`` (Bessel's
      correction); ``None`` when ``n < 2``.
    * median, q1, q3: quantiles at p = 0.5, 0.25, 0.75 by definition 7 of Hyndman & Fan
      (1996), the default of R and NumPy: with the values sorted, ``h = (n - 1) p``, the
      quantile is ``x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)])``
      (0-based).
    * min, max: the smallest and largest value.

    Hyndman, R. J., & Fan, Y. (1996). Sample quantiles in statistical packages. The American
    Statistician, 50(4), 361-365.
    """
    values = sorted((value, count) for value, count in frequencies.items() if count > 0)
    n = sum(count for _, count in values)
    if n == 0:
        return DimensionSummary(
            n=0, mean=None, sd=None, median=None, q1=None, q3=None, min=None, max=None
        )
    mean = sum((value * count for value, count in values), Fraction(0)) / n
    sd = None
    if n >= 2:
        squares = sum(((value - mean) ** 2 * count for value, count in values), Fraction(0))
        sd = sqrt(squares / (n - 1))
    return DimensionSummary(
        n=n,
        mean=float(mean),
        sd=sd,
        median=float(quantile(values, n, Fraction(1, 2))),
        q1=float(quantile(values, n, Fraction(1, 4))),
        q3=float(quantile(values, n, Fraction(3, 4))),
        min=float(values[0][0]),
        max=float(values[-1][0]),
    )


def quantile(values: Sequence[tuple[Fraction, int]], n: int, p: Fraction) -> Fraction:
    """Hyndman & Fan definition 7 on sorted ``(value, count)`` pairs with ``n`` values."""
    h = (n - 1) * p
    low = math.floor(h)
    below = order_statistic(values, low)
    if h == low:
        return below
    return below + (h - low) * (order_statistic(values, low + 1) - below)


def order_statistic(values: Sequence[tuple[Fraction, int]], index: int) -> Fraction:
    """The value at 0-based position ``index`` of the sorted data."""
    seen = 0
    for value, count in values:
        seen += count
        if index < seen:
            return value
    raise IndexError(index)


@dataclass(frozen=True, slots=True)
class Moments:
    """Exact sums over ``n`` paired observations of x and y."""

    n: int = 0
    sx: Fraction = Fraction(0)
    sy: Fraction = Fraction(0)
    sxx: Fraction = Fraction(0)
    syy: Fraction = Fraction(0)
    sxy: Fraction = Fraction(0)

    def __add__(self, other: Moments) -> Moments:
        return Moments(
            self.n + other.n,
            self.sx + other.sx,
            self.sy + other.sy,
            self.sxx + other.sxx,
            self.syy + other.syy,
            self.sxy + other.sxy,
        )


def pearson(m: Moments) -> float | None:
    """Pearson's product-moment correlation from exact sums.

    ``r = (n sxy - sx sy) / sqrt((n sxx - sx^2) (n syy - sy^2))``; ``None`` when ``n < 2`` or
    either variable is constant. Pearson, K. (1895). Notes on regression and inheritance in
    the case of two parents. Proceedings of the Royal Society of London, 58, 240-242.
    """
    if m.n < 2:
        return None
    covariance = m.n * m.sxy - m.sx * m.sy
    x_spread = m.n * m.sxx - m.sx * m.sx
    y_spread = m.n * m.syy - m.sy * m.sy
    if x_spread <= 0 or y_spread <= 0:
        return None
    r = math.copysign(sqrt(covariance * covariance / (x_spread * y_spread)), covariance)
    return max(-1.0, min(1.0, r))


@dataclass(frozen=True, slots=True)
class Reliability:
    """Internal consistency of one dimension's items."""

    n: int
    alpha: float | None
    alpha_if_deleted: tuple[float | None, ...]
    corrected_item_total: tuple[float | None, ...]


def reliability(
    n: int,
    item_sums: Sequence[int],
    item_squares: Sequence[int],
    item_total: Sequence[int],
    total: int,
    total_squares: int,
) -> Reliability:
    """Cronbach's alpha, alpha if item deleted, and corrected item-total correlations.

    Inputs are sums over the ``n`` complete cases of the keyed item values ``x_i`` and their
    sum ``T``: ``sum x_i``, ``sum x_i^2``, ``sum x_i T``, ``sum T``, ``sum T^2``. With sample
    variances and covariances (denominator ``n - 1``):

    * ``alpha = k / (k - 1) * (1 - sum_i var(x_i) / var(T))`` for ``k`` items
      (Cronbach, 1951);
    * alpha if item ``i`` is deleted: the same formula over the other ``k - 1`` items, whose
      total ``T - x_i`` has variance ``var(T) - 2 cov(x_i, T) + var(x_i)``;
    * corrected item-total correlation: Pearson's r between ``x_i`` and the sum of the
      *other* items, ``(cov(x_i, T) - var(x_i)) / sqrt(var(x_i) var(T - x_i))``, so an item
      is not correlated with itself (e.g. Nunnally & Bernstein, 1994, ch. 8).

    ``None`` where a variance in a denominator is zero, for alpha with fewer than two items,
    for alpha if deleted with fewer than three, and for everything when ``n < 2``.

    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16(3), 297-334. Nunnally, J. C., & Bernstein, I. H. (1994). Psychometric
    theory (3rd ed.). McGraw-Hill.
    """
    k = len(item_sums)
    nothing = tuple(None for _ in range(k))
    if n < 2 or k < 2:
        return Reliability(n, None, nothing, nothing)

    def covariance(sum_xy: int, sum_x: int, sum_y: int) -> Fraction:
        return (Fraction(sum_xy) - Fraction(sum_x * sum_y, n)) / (n - 1)

    variances = [covariance(item_squares[i], item_sums[i], item_sums[i]) for i in range(k)]
    with_total = [covariance(item_total[i], item_sums[i], total) for i in range(k)]
    total_variance = covariance(total_squares, total, total)
    sum_variances = sum(variances, Fraction(0))

    alpha = None
    if total_variance > 0:
        alpha = float(Fraction(k, k - 1) * (1 - sum_variances / total_variance))

    if_deleted: list[float | None] = []
    item_rest: list[float | None] = []
    for i in range(k):
        rest_variance = total_variance - 2 * with_total[i] + variances[i]
        if k >= 3 and rest_variance > 0:
            ratio = (sum_variances - variances[i]) / rest_variance
            if_deleted.append(float(Fraction(k - 1, k - 2) * (1 - ratio)))
        else:
            if_deleted.append(None)
        if variances[i] > 0 and rest_variance > 0:
            numerator = with_total[i] - variances[i]
            r = math.copysign(
                sqrt(numerator * numerator / (variances[i] * rest_variance)), numerator
            )
            item_rest.append(max(-1.0, min(1.0, r)))
        else:
            item_rest.append(None)
    return Reliability(n, alpha, tuple(if_deleted), tuple(item_rest))


def frequencies_of_points(counts: Mapping[int, int]) -> dict[Fraction, int]:
    return {Fraction(point): count for point, count in counts.items()}
