"""The CSV form of the exports: one tidy table per export, one value per row.

The rows follow the JSON exactly (a withheld value is an empty cell with ``withheld`` true).
What the export covers (the ``meta`` of the JSON) comes first, as a fixed number of comment
lines starting with ``#`` (one per entry of ``META_LINES``), then the header row; the codebook
declares ``#`` as the comment character and the header's row number. The columns of each table,
in order, come from :mod:`app.services.research.columns`, which the codebook describes too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence

from app.schemas.research import (
    ExportMeta,
    HistogramsExport,
    ItemsExport,
    SummaryBlock,
    SummaryExport,
)
from app.services.research import columns
from app.services.research.columns import ALL_GROUP, META_LINES, NO_VALUE_GROUP, OTHER_GROUP

Value = str | int | float | bool | None
Row = Mapping[str, Value]

SUMMARY_COLUMNS = columns.names(columns.SUMMARY)
HISTOGRAM_COLUMNS = columns.names(columns.HISTOGRAMS)
ITEM_COLUMNS = columns.names(columns.ITEMS)


def _cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _render(meta: ExportMeta, title: str, columns: Sequence[str], rows: Iterator[Row]) -> str:
    out = io.StringIO()
    header: dict[str, object] = {
        "export": title,
        "questionnaire": meta.questionnaire.model_dump(mode="json"),
        "content_hashes": meta.content_hashes,
        "generated_at": meta.generated_at.isoformat(),
        "n": meta.n,
        "coverage": meta.coverage,
        "filters": meta.filters.model_dump(mode="json"),
        "privacy": meta.privacy.model_dump(mode="json"),
        "suppression": meta.suppression.model_dump(mode="json") if meta.suppression else None,
        "codebook": meta.codebook,
    }
    for key in META_LINES:
        value = header[key]
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        out.write(f"# {key}: {' '.join(text.splitlines())}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def _summary_rows(
    block: SummaryBlock, group_by: str | None, group: str, prefix: str, suppressed: set[str]
) -> Iterator[Row]:
    common = {"group_by": group_by or "", "group": group}

    def row(section: str, category: str, statistic: str, value: Value, pointer: str) -> Row:
        return {
            **common,
            "section": section,
            "category": category,
            "statistic": statistic,
            "value": value,
            "withheld": pointer in suppressed,
        }

    yield row("n", "", "n", block.n, f"{prefix}/n")
    for dimension, stats in block.dimensions.items():
        for name, value in stats.model_dump().items():
            pointer = f"{prefix}/dimensions/{dimension}/{name}"
            yield row("dimension", dimension, name, value, pointer)
    for tendency, pair in block.tendencies.primary.items():
        base = f"{prefix}/tendencies/primary/{tendency}"
        yield row("tendency_primary", tendency, "count", pair.count, f"{base}/count")
        yield row("tendency_primary", tendency, "share", pair.share, f"{base}/share")
    for tendency, pair in block.tendencies.elevated.items():
        base = f"{prefix}/tendencies/elevated/{tendency}"
        yield row("tendency_elevated", tendency, "count", pair.count, f"{base}/count")
        yield row("tendency_elevated", tendency, "share", pair.share, f"{base}/share")
    for level, rate in block.crisis.items():
        base = f"{prefix}/crisis/{level}"
        yield row("crisis", level, "count", rate.count, f"{base}/count")
        yield row("crisis", level, "rate", rate.rate, f"{base}/rate")
    if block.periods.counts is None:
        return
    for label, count in block.periods.counts.items():
        yield row("period", label, "count", count, f"{prefix}/periods/counts/{label}")


def summary_csv(export: SummaryExport) -> str:
    suppressed = set(export.suppressed)

    def rows() -> Iterator[Row]:
        yield from _summary_rows(export, export.group_by, ALL_GROUP, "", suppressed)
        for index, group in enumerate(export.groups or []):
            name = OTHER_GROUP if group.other else (group.key or NO_VALUE_GROUP)
            yield from _summary_rows(group, export.group_by, name, f"/groups/{index}", suppressed)

    return _render(export.meta, "summary", SUMMARY_COLUMNS, rows())


def histograms_csv(export: HistogramsExport) -> str:
    suppressed = set(export.suppressed)

    def rows() -> Iterator[Row]:
        for dimension, histogram in export.dimensions.items():
            base = f"/dimensions/{dimension}"
            yield {
                "dimension": dimension,
                "statistic": "n",
                "value": histogram.n,
                "withheld": f"{base}/n" in suppressed,
            }
            for index, item in enumerate(histogram.bins):
                yield {
                    "dimension": dimension,
                    "statistic": "count",
                    "bin": index,
                    "lower": item.lower,
                    "upper": item.upper,
                    "closed": item.closed,
                    "value": item.count,
                    "withheld": f"{base}/bins/{index}/count" in suppressed,
                }

    return _render(export.meta, "histograms", HISTOGRAM_COLUMNS, rows())


def items_csv(export: ItemsExport) -> str:
    suppressed = set(export.suppressed)

    def rows() -> Iterator[Row]:
        yield {"section": "n", "statistic": "n", "value": export.n, "withheld": "/n" in suppressed}
        for item_id, item in export.items.items():
            base = f"/items/{item_id}"
            common: dict[str, Value] = {
                "section": "item",
                "dimension": item.dimension,
                "item": item_id,
                "reverse": item.reverse,
            }
            for name in ("n", "mean", "sd", "corrected_item_total", "alpha_if_deleted"):
                yield {
                    **common,
                    "statistic": name,
                    "value": getattr(item, name),
                    "withheld": f"{base}/{name}" in suppressed,
                }
            for point, count in item.distribution.items():
                yield {
                    **common,
                    "statistic": "count",
                    "category": point,
                    "value": count,
                    "withheld": f"{base}/distribution/{point}" in suppressed,
                }
        for dimension, rel in export.reliability.items():
            base = f"/reliability/{dimension}"
            for name, value in (("n", rel.n), ("items", rel.items), ("alpha", rel.alpha)):
                yield {
                    "section": "reliability",
                    "dimension": dimension,
                    "statistic": name,
                    "value": value,
                    "withheld": f"{base}/{name}" in suppressed,
                }
        yield {
            "section": "correlation",
            "statistic": "n",
            "value": export.correlations.n,
            "withheld": "/correlations/n" in suppressed,
        }
        for first, row in export.correlations.matrix.items():
            for second, r in row.items():
                yield {
                    "section": "correlation",
                    "dimension": first,
                    "statistic": "r",
                    "category": second,
                    "value": r,
                    "withheld": f"/correlations/matrix/{first}/{second}" in suppressed,
                }

    return _render(export.meta, "items", ITEM_COLUMNS, rows())
