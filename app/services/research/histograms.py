"""The histograms export: each dimension's scores counted in fixed bins.

Bins come from the scale, never from the data: half a scale point wide from the lowest to the
highest possible score (a twentieth of the range for scales wider than ten points), with the
definition's band thresholds added as edges so that a bin never straddles "elevated". Each bin
holds ``lower <= score < upper``; the last also holds its upper edge.

Suppression: the bins add up to the dimension's scored n, and the bins from a tendency's
threshold up add up to that tendency's elevated count, which the summary publishes. So the
bins are protected as a hierarchy (N, scored, below and above each threshold, the bins), with
the scored n and the elevated counts fixed as the summary decided them.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from functools import partial

from app.repositories import research_data
from app.repositories.research_scope import GroupKey
from app.schemas.research import DimensionHistogram, HistogramBin, HistogramsExport
from app.services.research import pipeline, tables
from app.services.research.context import ResearchContext
from app.services.research.dp import PrivateRelease
from app.services.research.meta import Withholding
from app.services.research.pipeline import Draft
from app.services.research.request import Coverage
from app.services.research.scores import ScoreReader, elevation_threshold, score_range
from app.services.research.suppression import CountTable, protect
from app.services.research.tables import escape, n_key
from app.services.research.tallies import BlockTally, SummaryLayout, add_scores
from scoring.definition import Definition


def bin_edges(definition: Definition, dimension_id: str, low: int, high: int) -> list[float]:
    """The edges of a dimension's bins (see the module docstring)."""
    span = high - low
    width = 0.5 if span <= 10 else span / 20
    count = round(span / width)
    edges = {low + index * width for index in range(count)} | {float(high)}
    dimension = next(d for d in definition.dimensions if d.id == dimension_id)
    for threshold in (dimension.bands.moderate_from, dimension.bands.elevated_from):
        if low < threshold < high:
            edges.add(float(threshold))
    return sorted(edges)


def bin_of(edges: Sequence[float], score: float) -> int:
    """The index of the bin holding ``score`` (the last bin is closed on the right)."""
    return min(bisect.bisect_right(edges, score) - 1, len(edges) - 2)


def _thresholds(definition: Definition, dimension_id: str) -> dict[float, list[str]]:
    """The elevation thresholds on a dimension, each with its tendencies."""
    found: dict[float, list[str]] = {}
    for rule in definition.tendencies:
        if rule.dimension != dimension_id:
            continue
        threshold = elevation_threshold(definition, rule.id)
        if threshold is not None:
            found.setdefault(threshold, []).append(rule.id)
    return dict(sorted(found.items()))


def scores_tally(ctx: ResearchContext, coverage: Coverage) -> BlockTally:
    """N, the scores and the elevated counts of everyone covered."""
    codes = research_data.dimension_codes(
        ctx.session, coverage.where, None, coverage.dimensions, stored=True
    )
    blocks: dict[GroupKey, BlockTally] = {}
    add_scores(blocks, codes, ScoreReader(coverage.definition, coverage.dimensions))
    tally = blocks.get(None, BlockTally())
    tally.n = sum(count for (_, index, _), count in codes.items() if index == 0)
    return tally


def summary_decisions(coverage: Coverage, tally: BlockTally, k: int) -> set[str]:
    """Which scored and elevated counts an ungrouped summary of the same data withholds."""
    layout = SummaryLayout(coverage, [])
    relevant = [*layout.scored.values(), *layout.elevated.values()]
    decided: set[str] = set()
    for partition, block in layout.partitions("", tally):
        if partition in relevant:
            decided |= tables.one_way(partition, block, k)
    return decided


def withheld_bins(
    coverage: Coverage,
    tally: BlockTally,
    dimension_id: str,
    edges: Sequence[float],
    bins: Sequence[int],
    decided: set[str],
    k: int,
) -> set[str]:
    """The bins to withhold: a hierarchy (N, scored and unscored, below and above each
    threshold, the bins) with the summary's counts fixed as ``decided``."""
    base = f"/dimensions/{escape(dimension_id)}"
    table = CountTable()
    total = table.add(n_key(""), tally.n)
    table.fix(total, withheld=False)
    scored = table.add(f"{base}/n", tally.scored(dimension_id))
    table.fix(scored, withheld=scored in decided)
    unscored = table.add(f"~{base}/unscored", tally.n - tally.scored(dimension_id), exported=False)
    table.line(total, [scored, unscored])
    bin_keys = [table.add(f"{base}/bins/{i}/count", count) for i, count in enumerate(bins)]
    parent, start = scored, 0
    thresholds = _thresholds(coverage.definition, dimension_id)
    for number, (threshold, tendencies) in enumerate(thresholds.items()):
        cut = bisect.bisect_left(list(edges), threshold)
        below = table.add(f"~{base}/below/{number}", sum(bins[start:cut]), exported=False)
        published = f"/tendencies/elevated/{escape(tendencies[0])}/count"
        above = table.add(f"~{published}", sum(bins[cut:]), exported=False)
        table.fix(above, withheld=published in decided)
        table.line(parent, [below, above])
        table.line(below, bin_keys[start:cut])
        parent, start = above, cut
    table.line(parent, bin_keys[start:])
    return tables.exported_only(protect(table, k))


def histograms(ctx: ResearchContext, coverage: Coverage, export_format: str) -> HistogramsExport:
    """The histograms export, protected by suppression or differential privacy."""
    releases = 1 + len(coverage.dimensions)
    return pipeline.run(ctx, coverage, "histograms", export_format, releases, _draft)


def _draft(
    ctx: ResearchContext, coverage: Coverage, release: PrivateRelease | None
) -> Draft[HistogramsExport]:
    tally = scores_tally(ctx, coverage)
    k = ctx.settings.min_cell_size
    too_few = release is None and 0 < tally.n < k
    decided = set() if release is not None or too_few else summary_decisions(coverage, tally, k)
    shown = Withholding(everything=too_few)
    n = shown.show("/n", max(0, release.count(tally.n)) if release else tally.n, False)
    dimensions = {}
    for packed in coverage.dimensions:
        low, high = score_range(packed)
        edges = bin_edges(coverage.definition, packed.id, low, high)
        bins = [0] * (len(edges) - 1)
        for score, count in tally.scores.get(packed.id, Counter()).items():
            bins[bin_of(edges, float(score))] += count
        base = f"/dimensions/{escape(packed.id)}"
        counts: list[int | None]
        if release is not None:
            released = [max(0, c) for c in release.counts(bins)]
            counts, scored = list(released), sum(released)
            shown_scored: int | None = scored
        else:
            withheld = (
                set()
                if too_few
                else withheld_bins(coverage, tally, packed.id, edges, bins, decided, k)
            )
            counts = [
                shown.show(f"{base}/bins/{i}/count", c, f"{base}/bins/{i}/count" in withheld)
                for i, c in enumerate(bins)
            ]
            shown_scored = shown.show(f"{base}/n", sum(bins), f"{base}/n" in decided)
        dimensions[packed.id] = DimensionHistogram(
            n=shown_scored,
            bins=[
                HistogramBin(
                    lower=edges[i],
                    upper=edges[i + 1],
                    closed="both" if i == len(bins) - 1 else "left",
                    count=counts[i],
                )
                for i in range(len(bins))
            ],
        )
    return Draft(tally.n, n, shown, partial(HistogramsExport, dimensions=dimensions))
