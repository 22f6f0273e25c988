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

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from app.repositories import research_data
from app.repositories.research_data import DemographicGroups, GroupKey
from app.schemas.research import (
    CountRate,
    CountShare,
    DimensionSummary,
    GroupSummary,
    PeriodCounts,
    SummaryExport,
    TendencySummary,
)
from app.services.research import audit, budget, periods, tables
from app.services.research.context import ResearchContext
from app.services.research.dp import PrivateRelease
from app.services.research.meta import Withholding, export_meta
from app.services.research.request import Coverage
from app.services.research.scores import ScoreReader, score_range
from app.services.research.statistics import describe
from app.services.research.tables import Block, Category, Partition, escape
from scoring.definition import CRISIS_LEVEL_ORDER

SECURE = "secure"
UNDETERMINED = "undetermined"
NO_CRISIS = "none"
CRISIS_LEVELS = tuple(sorted(CRISIS_LEVEL_ORDER, key=lambda level: -CRISIS_LEVEL_ORDER[level]))
STATISTICS = ("mean", "sd", "median", "q1", "q3", "min", "max")
NOT_RELEASED_UNDER_DP = ("sd", "median", "q1", "q3", "min", "max")


@dataclass
class BlockTally:
    """Exact counts for one block of responses (everyone covered, or one group)."""

    n: int = 0
    primary: Counter[str] = field(default_factory=Counter)
    crisis: Counter[str] = field(default_factory=Counter)
    periods: Counter[dt.date] = field(default_factory=Counter)
    scores: dict[str, Counter[Fraction]] = field(default_factory=dict)
    elevated: Counter[str] = field(default_factory=Counter)

    def absorb(self, other: BlockTally) -> None:
        self.n += other.n
        self.primary.update(other.primary)
        self.crisis.update(other.crisis)
        self.periods.update(other.periods)
        for dimension, scores in other.scores.items():
            self.scores.setdefault(dimension, Counter()).update(scores)
        self.elevated.update(other.elevated)

    def scored(self, dimension: str) -> int:
        return sum(self.scores.get(dimension, Counter()).values())


def tally(ctx: ResearchContext, coverage: Coverage) -> dict[GroupKey, BlockTally]:
    """Exact counts per group (a single group keyed None without ``group_by``)."""
    definition = coverage.definition
    group = coverage.grouping
    where = coverage.where
    known = {rule.id for rule in definition.tendencies} | {SECURE}
    blocks: dict[GroupKey, BlockTally] = {}

    def block(key: GroupKey) -> BlockTally:
        found = blocks.get(key)
        if found is None:
            found = blocks[key] = BlockTally()
        return found

    session = ctx.session
    by_primary = research_data.count_by(session, where, group, "primary_tendency")
    for (key, value), count in by_primary.items():
        target = block(key)
        target.n += count
        target.primary[value if value in known else UNDETERMINED] += count
    by_crisis = research_data.count_by(session, where, group, "crisis_level")
    for (key, value), count in by_crisis.items():
        block(key).crisis[value if value in CRISIS_LEVEL_ORDER else NO_CRISIS] += count
    unit = coverage.parameters.period
    for (key, start), count in research_data.count_by_period(session, where, group, unit).items():
        block(key).periods[start] += count
    codes = research_data.dimension_codes(session, where, group, coverage.dimensions)
    add_scores(blocks, codes, ScoreReader(definition, coverage.dimensions))
    return blocks


def add_scores(
    blocks: dict[GroupKey, BlockTally],
    codes: Counter[tuple[GroupKey, int, int]],
    reader: ScoreReader,
) -> None:
    """Each group's scores and elevated counts, from its packed codes."""
    ids = [d.id for d in reader.dimensions]
    for (key, index, code), count in codes.items():
        target = blocks.get(key)
        if target is None:
            target = blocks[key] = BlockTally()
        reading = reader.read(index, code)
        if reading.score is None:
            continue
        target.scores.setdefault(ids[index], Counter())[reading.score] += count
        for tendency in reading.elevated:
            target.elevated[tendency] += count


@dataclass(frozen=True, slots=True)
class Group:
    key: GroupKey
    other: bool
    tally: BlockTally


def pooled(
    blocks: dict[GroupKey, BlockTally], k: int, rank: Mapping[str, int] | None = None
) -> list[Group]:
    """Groups of at least k, in ``rank`` order when given (a demographic item's options as
    the definition lists them), otherwise in key order; no value last; then the pooled
    ``other``."""

    def order(key: GroupKey) -> tuple[bool, int, str]:
        return (key is None, (rank or {}).get(key or "", 0), key or "")

    named = sorted((key for key, b in blocks.items() if b.n >= k), key=order)
    pool = [key for key, b in blocks.items() if 0 < b.n < k]
    pool_n = sum(blocks[key].n for key in pool)
    while pool and pool_n < k and named:
        smallest = min(named, key=lambda key: (blocks[key].n, order(key)))
        named.remove(smallest)
        pool.append(smallest)
        pool_n += blocks[smallest].n
    groups = [Group(key, False, blocks[key]) for key in named]
    if pool:
        other = BlockTally()
        for key in pool:
            other.absorb(blocks[key])
        groups.append(Group(None, True, other))
    return groups


def period_starts(coverage: Coverage, observed: Iterable[dt.date]) -> list[dt.date]:
    """Every period from the range's (else the data's) first to its last, empty ones too."""
    seen = sorted(observed)
    first = coverage.since or (seen[0] if seen else None)
    last = coverage.until or (seen[-1] if seen else None)
    if first is None or last is None:
        return []
    return list(periods.spanning(first, last, coverage.parameters.period))


class SummaryLayout:
    """The partitions a summary publishes, and where their counts go."""

    def __init__(self, coverage: Coverage, starts: Sequence[dt.date]) -> None:
        definition = coverage.definition
        unit = coverage.parameters.period
        self.dimension_ids = [d.id for d in coverage.dimensions]
        self.tendency_ids = [rule.id for rule in definition.tendencies]
        self.primary_ids = [*self.tendency_ids, SECURE]
        self.period_labels = {start: periods.label(start, unit) for start in starts}
        self.scored = {
            d: Partition(
                f"/dimensions/{escape(d)}/{{}}", (Category("n"), Category("unscored", False))
            )
            for d in self.dimension_ids
        }
        self.primary = Partition(
            "/tendencies/primary/{}/count",
            (*(Category(t) for t in self.primary_ids), Category(UNDETERMINED, False)),
        )
        self.elevated = {
            t: Partition(
                f"/tendencies/elevated/{escape(t)}/{{}}",
                (Category("count"), Category("not", False)),
            )
            for t in self.tendency_ids
        }
        self.crisis = Partition(
            "/crisis/{}/count",
            (*(Category(c) for c in CRISIS_LEVELS), Category(NO_CRISIS, False)),
        )
        self.periods = Partition(
            "/periods/counts/{}", tuple(Category(label) for label in self.period_labels.values())
        )

    def partitions(self, prefix: str, t: BlockTally) -> list[tuple[Partition, Block]]:
        """Every partition of one block, with its counts."""
        result = []
        for d in self.dimension_ids:
            scored = t.scored(d)
            result.append(
                (self.scored[d], Block(prefix, t.n, {"n": scored, "unscored": t.n - scored}))
            )
        result.append((self.primary, Block(prefix, t.n, dict(t.primary))))
        for e in self.tendency_ids:
            counts = {"count": t.elevated[e], "not": t.n - t.elevated[e]}
            result.append((self.elevated[e], Block(prefix, t.n, counts)))
        result.append((self.crisis, Block(prefix, t.n, dict(t.crisis))))
        by_label = {
            self.period_labels[s]: c for s, c in t.periods.items() if s in self.period_labels
        }
        result.append((self.periods, Block(prefix, t.n, by_label)))
        return result


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


@dataclass(frozen=True, slots=True)
class BlockValues:
    n: int | None
    dimensions: dict[str, DimensionSummary]
    tendencies: TendencySummary
    crisis: dict[str, CountRate]
    periods: PeriodCounts


def render(
    layout: SummaryLayout,
    coverage: Coverage,
    prefix: str,
    t: BlockTally,
    withheld: set[str],
    shown: Withholding,
    k: int,
) -> BlockValues:
    """One block's values; a withheld count takes its share or rate with it."""
    dimensions = {}
    for d in layout.dimension_ids:
        base = f"{prefix}/dimensions/{escape(d)}"
        scored = t.scored(d)
        description = describe(t.scores.get(d, Counter()))
        stats = {
            name: shown.show(f"{base}/{name}", getattr(description, name), 0 < scored < k)
            for name in STATISTICS
        }
        dimensions[d] = DimensionSummary(
            n=shown.show(f"{base}/n", scored, f"{base}/n" in withheld),
            mean=stats["mean"],
            sd=stats["sd"],
            median=stats["median"],
            q1=stats["q1"],
            q3=stats["q3"],
            min=stats["min"],
            max=stats["max"],
        )

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
    return BlockValues(
        n=shown.show(f"{prefix}/n", t.n, False),
        dimensions=dimensions,
        tendencies=TendencySummary(primary=primary, elevated=elevated),
        crisis=crisis,
        periods=PeriodCounts(unit=coverage.parameters.period, counts=counts),
    )


def summary(ctx: ResearchContext, coverage: Coverage, export_format: str) -> SummaryExport:
    """The summary export, protected by suppression or differential privacy."""
    if coverage.parameters.privacy == "dp":
        return _private(ctx, coverage, export_format)
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
    result = SummaryExport(
        n=values.n,
        dimensions=values.dimensions,
        tendencies=values.tendencies,
        crisis=values.crisis,
        periods=values.periods,
        group_by=coverage.parameters.group_by,
        groups=(
            [
                GroupSummary(
                    key=group.key,
                    other=group.other,
                    n=v.n,
                    dimensions=v.dimensions,
                    tendencies=v.tendencies,
                    crisis=v.crisis,
                    periods=v.periods,
                )
                for group, v in group_values
            ]
            if coverage.parameters.group_by
            else None
        ),
        suppressed=shown.pointers,
        meta=export_meta(ctx, coverage, n=values.n, budget=None),
    )
    audit.record(
        ctx,
        "summary",
        coverage,
        export_format=export_format,
        n=overall.n,
        withheld=len(shown.pointers),
        epsilon=None,
    )
    return result


def _private(ctx: ResearchContext, coverage: Coverage, export_format: str) -> SummaryExport:
    """The summary released with differential privacy (no groups, no quantiles or SDs)."""
    private = coverage.private_budget()
    assert private is not None
    study, epsilon = private
    state = budget.charge(ctx, study, epsilon)
    overall = BlockTally()
    for block in tally(ctx, coverage).values():
        overall.absorb(block)
    public_periods = coverage.since is not None and coverage.until is not None
    layout = SummaryLayout(coverage, period_starts(coverage, []) if public_periods else [])
    releases = (
        1 + len(layout.dimension_ids) + 1 + len(layout.tendency_ids) + 1 + int(public_periods)
    )
    release = PrivateRelease(epsilon, releases)
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
    result = SummaryExport(
        n=n,
        dimensions=dimensions,
        tendencies=TendencySummary(primary=primary, elevated=elevated),
        crisis=crisis,
        periods=PeriodCounts(unit=coverage.parameters.period, counts=counts),
        suppressed=shown.pointers,
        meta=export_meta(ctx, coverage, n=n, budget=state),
    )
    audit.record(
        ctx,
        "summary",
        coverage,
        export_format=export_format,
        n=overall.n,
        withheld=len(shown.pointers),
        epsilon=epsilon,
    )
    return result
