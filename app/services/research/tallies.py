"""Exact counts behind the summary and the histograms: one :class:`BlockTally` per group
(everyone covered, or one group of a ``group_by``), small groups pooled into ``other``, and the
partitions a summary publishes (:class:`SummaryLayout`), which the histograms' suppression
also follows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from app.repositories import research_data
from app.repositories.research_scope import GroupKey
from app.services.research import periods
from app.services.research.context import ResearchContext
from app.services.research.request import Coverage
from app.services.research.scores import ScoreReader
from app.services.research.tables import Block, Category, Partition, escape
from app.services.research.vocabulary import CRISIS_LEVELS, NO_CRISIS, SECURE, UNDETERMINED
from scoring.definition import CRISIS_LEVEL_ORDER


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

    counted = research_data.response_counts(
        ctx.session, where, group, coverage.parameters.period, coverage.dimensions, stored=True
    )
    for (key, primary, crisis, start), count in counted.responses.items():
        target = block(key)
        target.n += count
        target.primary[primary if primary in known else UNDETERMINED] += count
        target.crisis[crisis if crisis in CRISIS_LEVEL_ORDER else NO_CRISIS] += count
        target.periods[start] += count
    add_scores(blocks, counted.codes, ScoreReader(definition, coverage.dimensions))
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
