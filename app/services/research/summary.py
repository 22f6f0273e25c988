"""The summary export: N; per dimension the distribution of scores; the tendencies (primary,
and elevated); the crisis-notice rate by level; responses per week or month; optionally the
same for each group of a ``group_by``.

The database returns counts per category and how many responses share each exact pair of
(keyed sum, items answered) per dimension; every statistic follows exactly from those.

Groups smaller than k are pooled into one ``other`` group (and, while that pool is itself
smaller than k, the smallest named group joins it), so every group listed has at least k
responses and its n can be published; the cells inside groups are then protected as two-way
tables (see :mod:`app.services.research.tables`). When everyone covered is fewer than k,
every value is withheld.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from functools import partial
from typing import Any

from app.repositories.research_scope import DemographicGroups
from app.schemas.research import (
    CountRate,
    CountShare,
    DimensionSummary,
    GroupSummary,
    PeriodCounts,
    SummaryBlock,
    SummaryExport,
    TendencySummary,
)
from app.services.research import pipeline, tables
from app.services.research.context import ResearchContext
from app.services.research.dp import PrivateRelease
from app.services.research.meta import Withholding
from app.services.research.pipeline import Draft
from app.services.research.request import Coverage
from app.services.research.scores import score_range
from app.services.research.statistics import describe
from app.services.research.tables import escape
from app.services.research.tallies import (
    BlockTally,
    Group,
    SummaryLayout,
    period_starts,
    pooled,
    tally,
)
from app.services.research.vocabulary import (
    CRISIS_LEVELS,
    NO_CRISIS,
    NOT_RELEASED_UNDER_DP,
    STATISTICS,
    UNDETERMINED,
)


def withheld_cells(
    layout: SummaryLayout, overall: BlockTally, groups: Sequence[Group], k: int
) -> set[str]:
    """Every count to withhold: the overall ones on their own, then the groups' given those."""
    withheld: set[str] = set()
    overall_partitions = layout.partitions("", overall)
    for partition, block in overall_partitions:
        withheld |= tables.one_way(partition, block, k)
    if groups:
        per_group = [layout.partitions(f"/groups/{i}", g.tally) for i, g in enumerate(groups)]
        for index, (partition, overall_block) in enumerate(overall_partitions):
            group_blocks = [partitions[index][1] for partitions in per_group]
            withheld |= tables.two_way(partition, overall_block, withheld, group_blocks, k)
    return withheld


def render(
    layout: SummaryLayout,
    coverage: Coverage,
    prefix: str,
    t: BlockTally,
    withheld: set[str],
    shown: Withholding,
    k: int,
) -> SummaryBlock:
    """One block's values (everyone covered, or one group); a withheld count takes its share
    or rate with it."""
    dimensions = {}
    for d in layout.dimension_ids:
        base = f"{prefix}/dimensions/{escape(d)}"
        scored = t.scored(d)
        description = describe(t.scores.get(d, Counter()))
        published = {
            name: shown.show(f"{base}/{name}", getattr(description, name), 0 < scored < k)
            for name in STATISTICS
        }
        published["n"] = shown.show(f"{base}/n", scored, f"{base}/n" in withheld)
        dimensions[d] = description.model_copy(update=published)

    def pair(base: str, count: int, ratio_name: str) -> tuple[int | None, float | None]:
        hidden = f"{base}/count" in withheld
        ratio = count / t.n if t.n else None
        return (
            shown.show(f"{base}/count", count, hidden),
            shown.show(f"{base}/{ratio_name}", ratio, hidden),
        )

    primary: dict[str, CountShare] = {}
    for tendency in layout.primary_ids:
        count, share = pair(
            f"{prefix}/tendencies/primary/{escape(tendency)}", t.primary[tendency], "share"
        )
        primary[tendency] = CountShare(count=count, share=share)
    elevated: dict[str, CountShare] = {}
    for tendency in layout.tendency_ids:
        count, share = pair(
            f"{prefix}/tendencies/elevated/{escape(tendency)}", t.elevated[tendency], "share"
        )
        elevated[tendency] = CountShare(count=count, share=share)
    crisis: dict[str, CountRate] = {}
    for level in CRISIS_LEVELS:
        count, rate = pair(f"{prefix}/crisis/{escape(level)}", t.crisis[level], "rate")
        crisis[level] = CountRate(count=count, rate=rate)
    counts: dict[str, int | None] = {}
    for start, label in layout.period_labels.items():
        pointer = f"{prefix}/periods/counts/{escape(label)}"
        counts[label] = shown.show(pointer, t.periods[start], pointer in withheld)
    return SummaryBlock(
        n=shown.show(f"{prefix}/n", t.n, False),
        dimensions=dimensions,
        tendencies=TendencySummary(primary=primary, elevated=elevated),
        crisis=crisis,
        periods=PeriodCounts(unit=coverage.parameters.period, counts=counts),
    )


def summary(ctx: ResearchContext, coverage: Coverage, export_format: str) -> SummaryExport:
    """The summary export, protected by suppression or differential privacy."""
    public_periods = coverage.since is not None and coverage.until is not None
    releases = (
        1
        + len(coverage.dimensions)
        + 1
        + len(coverage.definition.tendencies)
        + 1
        + int(public_periods)
    )

    def build(
        ctx: ResearchContext, coverage: Coverage, release: PrivateRelease | None
    ) -> Draft[SummaryExport]:
        if release is None:
            return _suppressed(ctx, coverage)
        return _private(ctx, coverage, release, public_periods)

    return pipeline.run(ctx, coverage, "summary", export_format, releases, build)


def _suppressed(ctx: ResearchContext, coverage: Coverage) -> Draft[SummaryExport]:
    blocks = tally(ctx, coverage)
    overall = BlockTally()
    for block in blocks.values():
        overall.absorb(block)
    k = ctx.settings.min_cell_size
    layout = SummaryLayout(coverage, period_starts(coverage, overall.periods))
    too_few = 0 < overall.n < k
    rank = (
        {option: place for place, option in enumerate(coverage.grouping.option_ids)}
        if isinstance(coverage.grouping, DemographicGroups)
        else None
    )
    groups = pooled(blocks, k, rank) if coverage.parameters.group_by and not too_few else []
    withheld = set() if too_few else withheld_cells(layout, overall, groups, k)
    shown = Withholding(everything=too_few)
    values = render(layout, coverage, "", overall, withheld, shown, k)
    group_values = [
        (group, render(layout, coverage, f"/groups/{i}", group.tally, withheld, shown, k))
        for i, group in enumerate(groups)
    ]

    group_summaries = [
        GroupSummary(key=group.key, other=group.other, **dict(block))
        for group, block in group_values
    ]
    export = partial(
        SummaryExport,
        **_block_values(values),
        group_by=coverage.parameters.group_by,
        groups=group_summaries if coverage.parameters.group_by else None,
    )
    return Draft(overall.n, values.n, shown, export)


def _block_values(block: SummaryBlock) -> dict[str, Any]:
    """The block's values but its N, which the export pipeline gives the export."""
    return {name: value for name, value in block if name != "n"}


def _private(
    ctx: ResearchContext, coverage: Coverage, release: PrivateRelease, public_periods: bool
) -> Draft[SummaryExport]:
    """The summary released with differential privacy (no groups, no quantiles or SDs)."""
    overall = BlockTally()
    for block in tally(ctx, coverage).values():
        overall.absorb(block)
    layout = SummaryLayout(coverage, period_starts(coverage, []) if public_periods else [])
    shown = Withholding()
    n = max(0, release.count(overall.n))

    def share(count: int) -> float | None:
        return min(1.0, count / n) if n else None

    dimensions = {}
    for packed in coverage.dimensions:
        base = f"/dimensions/{escape(packed.id)}"
        low, high = score_range(packed)
        scores = overall.scores.get(packed.id, Counter())
        exact_sum = float(sum((v * c for v, c in scores.items()), Fraction(0)))
        noisy_sum = release.bounded_sum(exact_sum, low, high)
        mean = min(float(high), max(float(low), noisy_sum / n)) if n else None
        hidden = {name: shown.show(f"{base}/{name}", 0.0, True) for name in NOT_RELEASED_UNDER_DP}
        dimensions[packed.id] = DimensionSummary(
            n=shown.show(f"{base}/n", 0, True), mean=mean, **hidden
        )
    primary_counts = release.counts(
        [overall.primary[t] for t in layout.primary_ids] + [overall.primary[UNDETERMINED]]
    )
    primary = {
        t: CountShare(count=max(0, c), share=share(max(0, c)))
        for t, c in zip(layout.primary_ids, primary_counts, strict=False)
    }
    elevated: dict[str, CountShare] = {}
    for tendency in layout.tendency_ids:
        count = max(0, release.count(overall.elevated[tendency]))
        elevated[tendency] = CountShare(count=count, share=share(count))
    crisis_counts = release.counts(
        [overall.crisis[level] for level in CRISIS_LEVELS] + [overall.crisis[NO_CRISIS]]
    )
    crisis: dict[str, CountRate] = {
        level: CountRate(count=max(0, c), rate=share(max(0, c)))
        for level, c in zip(CRISIS_LEVELS, crisis_counts, strict=False)
    }
    counts: dict[str, int | None] | None = None
    if public_periods:
        starts = list(layout.period_labels)
        noisy = release.counts([overall.periods[s] for s in starts])
        counts = {layout.period_labels[s]: max(0, c) for s, c in zip(starts, noisy, strict=True)}
    else:
        shown.show("/periods/counts", 0, True)
    tendencies = TendencySummary(primary=primary, elevated=elevated)
    periods = PeriodCounts(unit=coverage.parameters.period, counts=counts)
    export = partial(
        SummaryExport, dimensions=dimensions, tendencies=tendencies, crisis=crisis, periods=periods
    )
    return Draft(overall.n, n, shown, export)
