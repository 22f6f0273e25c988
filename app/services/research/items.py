"""The items export: per item N, mean, SD and the distribution of answers; per dimension
Cronbach's alpha, with each item's alpha if deleted and corrected item-total correlation; and
the correlation matrix of the dimension scores.

Item N, mean, SD and distribution describe the answers as given (before reverse keying: the
``reverse`` flag says which items the scoring reverses); reliability uses the keyed answers of
the responses that answered every item of the dimension; correlations use the dimension scores
of the responses scored on every dimension. See :mod:`app.services.research.statistics`.

Suppression, per item: the item's N and the responses that skipped it add up to N, and its
counts add up to its N; both are protected like any table. The mean and SD add two weighted
equations on the counts (sum of answers, sum of squares), which can pin down withheld counts;
so when counts are withheld, further counts are withheld until the mean and SD no longer
reveal a small one, and if that is impossible the mean and SD are withheld instead.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial

from app.repositories import research_data
from app.repositories.research_scope import ItemTallies, PackedDimension, ScoreSums
from app.schemas.research import Correlations, DimensionReliability, ItemsExport, ItemSummary
from app.services.research import pipeline, tables
from app.services.research.context import ResearchContext
from app.services.research.dp import PrivateRelease
from app.services.research.meta import Withholding
from app.services.research.pipeline import Draft
from app.services.research.request import Coverage
from app.services.research.statistics import (
    Moments,
    Reliability,
    describe,
    frequencies_of_points,
    pearson,
    reliability,
)
from app.services.research.suppression import CountTable, determined, protect
from app.services.research.tables import Block, Category, Partition, escape, n_key


def item_table(item_id: str, n: int, counts: dict[int, int]) -> CountTable:
    """N = item N + skipped; item N = the counts of its points."""
    base = f"/items/{escape(item_id)}"
    table = CountTable()
    total = table.add(n_key(""), n)
    table.fix(total, withheld=False)
    answered = sum(counts.values())
    item_n = table.add(f"{base}/n", answered)
    skipped = table.add(f"~{base}/skipped", n - answered, exported=False)
    table.line(total, [item_n, skipped])
    points = [table.add(f"{base}/distribution/{point}", c) for point, c in sorted(counts.items())]
    table.line(item_n, points)
    return table


def _moments_reveal(
    table: CountTable, item_id: str, counts: dict[int, int], withheld: set[str], k: int
) -> bool:
    """Whether the item's exact mean and SD, with everything published, fix a withheld
    count of 1..k-1."""
    base = f"/items/{escape(item_id)}"
    answered = sum(counts.values())
    if answered < 2:
        return False
    mean = Fraction(sum(p * c for p, c in counts.items()), answered)
    variance = Fraction(sum((p - mean) ** 2 * c for p, c in counts.items()), answered - 1)
    item_n, skipped = f"{base}/n", f"~{base}/skipped"
    point_keys = {p: f"{base}/distribution/{p}" for p in counts}
    equations: list[dict[str, Fraction]] = [
        {item_n: Fraction(1), skipped: Fraction(1)},
        {item_n: Fraction(-1), **{key: Fraction(1) for key in point_keys.values()}},
        {item_n: -mean, **{key: Fraction(p) for p, key in point_keys.items()}},
        {
            item_n: -(variance + mean * mean),
            **{key: Fraction(p * p) for p, key in point_keys.items()},
        },
    ]
    unknowns = [key for key in table.cells if key in withheld]
    restricted = [{key: c for key, c in eq.items() if key in withheld} for eq in equations]
    fixed = determined(unknowns, restricted)
    return any(1 <= table.cells[key].value < k for key in fixed)


def protect_item(item_id: str, n: int, counts: dict[int, int], k: int) -> tuple[set[str], bool]:
    """The item's cells to withhold, and whether its mean and SD are withheld too."""
    table = item_table(item_id, n, counts)
    withheld = protect(table, k)
    if sum(counts.values()) < k:
        return withheld, True  # too few answers: the mean and SD are withheld anyway
    if not _moments_reveal(table, item_id, counts, withheld, k):
        return withheld, False
    extra: list[str] = []
    candidates = sorted(
        (key for key in table.cells if key.split("/")[-2] == "distribution"),
        key=lambda key: table.cells[key].value,
    )
    for key in candidates:
        if key in withheld or table.cells[key].value == 0:
            continue
        extra.append(key)
        widened = protect(table, k, also_withhold=extra)
        if not _moments_reveal(table, item_id, counts, widened, k):
            return widened, False
    return withheld, True


def _score_moments(scores: ScoreSums, a: int, b: int) -> Moments:
    """Exact sums of the scores of dimensions a and b (over responses scored on every
    dimension), from the integer sums kept per number of items answered."""
    if a == b:
        sx = sum((Fraction(s, c) for c, (s, _) in scores.sums[a].items()), Fraction(0))
        sxx = sum((Fraction(q, c * c) for c, (_, q) in scores.sums[a].items()), Fraction(0))
        return Moments(scores.n, sx, sx, sxx, sxx, sxx)
    first, second = min(a, b), max(a, b)
    cross = sum(
        (Fraction(p, ca * cb) for (ca, cb), p in scores.products[(first, second)].items()),
        Fraction(0),
    )
    x, y = _score_moments(scores, a, a), _score_moments(scores, b, b)
    return Moments(scores.n, x.sx, y.sx, x.sxx, y.sxx, cross)


def items(ctx: ResearchContext, coverage: Coverage, export_format: str) -> ItemsExport:
    """The items export, protected by suppression or differential privacy."""
    releases = 1 + sum(len(d.items) for d in coverage.dimensions)
    return pipeline.run(ctx, coverage, "items", export_format, releases, _draft)


def _draft(
    ctx: ResearchContext, coverage: Coverage, release: PrivateRelease | None
) -> Draft[ItemsExport]:
    tallies = research_data.item_tallies(ctx.session, coverage.where, coverage.dimensions)
    k = ctx.settings.min_cell_size
    too_few = release is None and 0 < tallies.n < k
    shown = Withholding(everything=too_few)
    if release is not None:
        parts = _private(coverage, tallies, release, shown)
    else:
        parts = _suppressed(coverage, tallies, tallies.n, shown, k, too_few)
    n, item_values, reliabilities, correlations = parts
    export = partial(
        ItemsExport, items=item_values, reliability=reliabilities, correlations=correlations
    )
    return Draft(tallies.n, n, shown, export)


_Parts = tuple[int | None, dict[str, ItemSummary], dict[str, DimensionReliability], Correlations]


def _suppressed(
    coverage: Coverage,
    tallies: ItemTallies,
    n: int,
    shown: Withholding,
    k: int,
    too_few: bool,
) -> _Parts:
    item_values: dict[str, ItemSummary] = {}
    reliabilities: dict[str, DimensionReliability] = {}
    for packed in coverage.dimensions:
        sums = tallies.complete[packed.id]
        stats = reliability(
            sums.n,
            sums.item_sums,
            sums.item_squares,
            sums.item_total,
            sums.total,
            sums.total_squares,
        )
        complete_partition = Partition(
            f"/reliability/{escape(packed.id)}/{{}}", (Category("n"), Category("rest", False))
        )
        complete_withheld = (
            set()
            if too_few
            else tables.one_way(
                complete_partition, Block("", n, {"n": sums.n, "rest": n - sums.n}), k
            )
        )
        base = f"/reliability/{escape(packed.id)}"
        few_complete = 0 < sums.n < k
        reliabilities[packed.id] = DimensionReliability(
            n=shown.show(f"{base}/n", sums.n, f"{base}/n" in complete_withheld),
            items=len(packed.items),
            alpha=shown.show(f"{base}/alpha", stats.alpha, few_complete),
        )
        for index, item in enumerate(packed.items):
            counts = tallies.answers[item.id]
            item_values[item.id] = _item_summary(
                packed, index, item.id, counts, n, stats, shown, k, too_few, few_complete
            )
    return (
        n if not too_few else None,
        item_values,
        reliabilities,
        _correlations(coverage, tallies, n, shown, k, too_few),
    )


def _item_summary(
    packed: PackedDimension,
    index: int,
    item_id: str,
    counts: dict[int, int],
    n: int,
    stats: Reliability,
    shown: Withholding,
    k: int,
    too_few: bool,
    few_complete: bool,
) -> ItemSummary:
    base = f"/items/{escape(item_id)}"
    answered = sum(counts.values())
    if too_few:
        withheld: set[str] = set()
        moments_withheld = True
    else:
        withheld, moments_withheld = protect_item(item_id, n, counts, k)
    description = describe(frequencies_of_points(counts))
    hide_moments = moments_withheld or 0 < answered < k
    return ItemSummary(
        dimension=packed.id,
        reverse=packed.items[index].reverse,
        n=shown.show(f"{base}/n", answered, f"{base}/n" in withheld),
        mean=shown.show(f"{base}/mean", description.mean, hide_moments),
        sd=shown.show(f"{base}/sd", description.sd, hide_moments),
        distribution={
            str(point): shown.show(
                f"{base}/distribution/{point}",
                count,
                f"{base}/distribution/{point}" in withheld,
            )
            for point, count in sorted(counts.items())
        },
        corrected_item_total=shown.show(
            f"{base}/corrected_item_total", stats.corrected_item_total[index], few_complete
        ),
        alpha_if_deleted=shown.show(
            f"{base}/alpha_if_deleted", stats.alpha_if_deleted[index], few_complete
        ),
    )


def _correlations(
    coverage: Coverage,
    tallies: ItemTallies,
    n: int,
    shown: Withholding,
    k: int,
    too_few: bool,
) -> Correlations:
    ids = [d.id for d in coverage.dimensions]
    scored_all = tallies.scores.n
    partition = Partition("/correlations/{}", (Category("n"), Category("rest", False)))
    withheld = (
        set()
        if too_few
        else tables.one_way(partition, Block("", n, {"n": scored_all, "rest": n - scored_all}), k)
    )
    few = 0 < scored_all < k
    matrix: dict[str, dict[str, float | None]] = {}
    for a, first in enumerate(ids):
        matrix[first] = {}
        for b, second in enumerate(ids):
            r = pearson(_score_moments(tallies.scores, a, b))
            pointer = f"/correlations/matrix/{escape(first)}/{escape(second)}"
            matrix[first][second] = shown.show(pointer, r, few)
    return Correlations(
        n=shown.show("/correlations/n", scored_all, "/correlations/n" in withheld), matrix=matrix
    )


def _private(
    coverage: Coverage, tallies: ItemTallies, release: PrivateRelease, shown: Withholding
) -> _Parts:
    """Item distributions with OpenDP noise; N, means and SDs follow from them (post-processing);
    reliability and correlations are not released."""
    n = max(0, release.count(tallies.n))
    item_values: dict[str, ItemSummary] = {}
    reliabilities: dict[str, DimensionReliability] = {}
    for packed in coverage.dimensions:
        base = f"/reliability/{escape(packed.id)}"
        reliabilities[packed.id] = DimensionReliability(
            n=shown.show(f"{base}/n", 0, True),
            items=len(packed.items),
            alpha=shown.show(f"{base}/alpha", 0.0, True),
        )
        for item in packed.items:
            points = sorted(tallies.answers[item.id])
            noisy = [
                max(0, c) for c in release.counts([tallies.answers[item.id][p] for p in points])
            ]
            distribution = dict(zip(points, noisy, strict=True))
            description = describe(frequencies_of_points(distribution))
            item_base = f"/items/{escape(item.id)}"
            item_values[item.id] = ItemSummary(
                dimension=packed.id,
                reverse=item.reverse,
                n=description.n,
                mean=description.mean,
                sd=description.sd,
                distribution={str(p): c for p, c in distribution.items()},
                corrected_item_total=shown.show(f"{item_base}/corrected_item_total", 0.0, True),
                alpha_if_deleted=shown.show(f"{item_base}/alpha_if_deleted", 0.0, True),
            )
    ids = [d.id for d in coverage.dimensions]
    matrix = {
        a: {b: shown.show(f"/correlations/matrix/{escape(a)}/{escape(b)}", 0.0, True) for b in ids}
        for a in ids
    }
    correlations = Correlations(n=shown.show("/correlations/n", 0, True), matrix=matrix)
    return n, item_values, reliabilities, correlations
