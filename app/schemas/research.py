"""What the research exports look like (JSON; the CSV forms are described by the codebook).

Every export has ``n``, its statistics, ``suppressed`` (a JSON Pointer, RFC 6901, to every value
withheld for privacy, each ``null`` in the body) and ``meta`` (what the export covers and which
privacy rules it follows). A value that does not exist for the data (an SD of one value, a
quantile of nothing) is also ``null`` but is not listed in ``suppressed``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from app.schemas.common import ResponseModel
from scoring.result import QuestionnaireRef, only_when_set

GroupByField = Annotated[
    str,
    Field(
        max_length=64,
        description="study, language, country, tendency, or the id of a demographic item the "
        "questionnaire declares (its groups are named by the option ids).",
    ),
]
PeriodUnit = Literal["week", "month"]
"""The time resolution of an export's counts (the one definition: queries, services and
the API all take this)."""
PrivacyMode = Literal["suppression", "dp"]
ExportFormat = Literal["json", "csv"]


class ExportFilters(ResponseModel):
    """The filters as applied: ``since`` and ``until`` widened to whole weeks or months."""

    questionnaire_id: str
    study: str | None
    studies_in_scope: list[str] | None = Field(
        description="The studies the researcher key may see (null: every study)."
    )
    since: dt.date | None
    until: dt.date | None
    period: PeriodUnit
    group_by: GroupByField | None = None


class SuppressionRule(ResponseModel):
    min_cell_size: int = Field(description="k: counts from 1 to k - 1 are withheld.")
    rule: str
    complementary: str


class BudgetState(ResponseModel):
    study: str
    total: float
    spent: float
    left: float


class PrivacyInfo(ResponseModel):
    mode: PrivacyMode
    epsilon: float | None = None
    mechanism: str | None = None
    unit: str = "one response"
    budget: BudgetState | None = None


CONTENT_HASHES_DOC = (
    "Every content hash the covered responses were scored with: the questionnaire's current "
    "hash (as in questionnaire.hash) first, then the hashes of earlier versions its "
    "definition declares measure the same (research.same_measure_as: only presentation text "
    "such as instructions changed), whose responses are pooled with the current ones."
)


class ExportMeta(ResponseModel):
    questionnaire: QuestionnaireRef
    content_hashes: list[str] = Field(description=CONTENT_HASHES_DOC)
    filters: ExportFilters
    generated_at: dt.datetime
    n: int | None = Field(description="The number of responses covered, as published.")
    coverage: str
    privacy: PrivacyInfo
    suppression: SuppressionRule | None
    codebook: str


class DimensionSummary(ResponseModel):
    n: int | None = Field(description="Responses with a score on this dimension.")
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    min: float | None
    max: float | None


class CountShare(ResponseModel):
    count: int | None
    share: float | None


class CountRate(ResponseModel):
    count: int | None
    rate: float | None


class TendencySummary(ResponseModel):
    primary: dict[str, CountShare]
    elevated: dict[str, CountShare]


class PeriodCounts(ResponseModel):
    unit: PeriodUnit
    counts: dict[str, int | None] | None = Field(
        description="Responses per ISO week (YYYY-Www) or month (YYYY-MM), in order."
    )


class SummaryBlock(ResponseModel):
    n: int | None
    dimensions: dict[str, DimensionSummary]
    tendencies: TendencySummary
    crisis: dict[str, CountRate]
    periods: PeriodCounts


class GroupSummary(SummaryBlock):
    key: str | None = Field(description="The group's value (null: none recorded).")
    other: bool = Field(
        default=False, description="The pooled groups smaller than the minimum cell size."
    )


class SummaryExport(SummaryBlock):
    group_by: GroupByField | None = None
    groups: list[GroupSummary] | None = None
    suppressed: list[str]
    meta: ExportMeta


class HistogramBin(ResponseModel):
    lower: float
    upper: float
    closed: Literal["left", "both"] = Field(
        description="left: lower <= score < upper; both: lower <= score <= upper (last bin)."
    )
    count: int | None


class DimensionHistogram(ResponseModel):
    n: int | None
    bins: list[HistogramBin]


class HistogramsExport(ResponseModel):
    n: int | None
    dimensions: dict[str, DimensionHistogram]
    suppressed: list[str]
    meta: ExportMeta


class ItemSummary(ResponseModel):
    dimension: str
    reverse: bool
    n: int | None
    mean: float | None
    sd: float | None
    distribution: dict[str, int | None] = Field(
        description="How many chose each point of the scale (the answer as given, not keyed)."
    )
    corrected_item_total: float | None
    alpha_if_deleted: float | None


class DimensionReliability(ResponseModel):
    n: int | None = Field(description="Responses that answered every item of the dimension.")
    items: int
    alpha: float | None


class Correlations(ResponseModel):
    n: int | None = Field(description="Responses scored on every dimension.")
    matrix: dict[str, dict[str, float | None]]


class ItemsExport(ResponseModel):
    n: int | None
    items: dict[str, ItemSummary]
    reliability: dict[str, DimensionReliability]
    correlations: Correlations
    suppressed: list[str]
    meta: ExportMeta


# --- The codebook: a Frictionless Data Package descriptor --------------------------------


class FieldConstraints(ResponseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    required: bool | None = None
    enum: list[str] | None = None
    minimum: float | None = None


class TableField(ResponseModel):
    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    title: str | None = None
    description: str
    constraints: FieldConstraints | None = None


class TableSchema(ResponseModel):
    fields: list[TableField]
    missingValues: list[str] = Field(default_factory=lambda: [""])  # noqa: N815 (spec name)


class CsvDialect(ResponseModel):
    delimiter: str = ","
    header: bool = True
    headerRows: list[int] = Field(  # noqa: N815 (spec name)
        description="The header's row number, counting the comment lines before it."
    )
    commentChar: str = "#"  # noqa: N815 (spec name)


class DataResource(ResponseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str
    path: str
    title: str
    description: str
    profile: str = "tabular-data-resource"
    format: str = "csv"
    mediatype: str = "text/csv"
    encoding: str = "utf-8"
    dialect: CsvDialect
    table_schema: TableSchema = Field(alias="schema")


class StatisticDoc(ResponseModel):
    name: str
    formula: str
    missing_data: str
    reference: str


_TARGET_DOC = (
    "The relationship (target id) the item is answered, or the dimension scored, about; "
    "only for a questionnaire answered per relationship."
)


class ScoringItem(ResponseModel):
    id: str
    dimension: str
    scale: str
    reverse: bool
    target: str | None = only_when_set(_TARGET_DOC)


class ScoringDimension(ResponseModel):
    id: str
    items: list[str]
    rule: str
    min_answered_fraction: float
    needed_answers: int
    moderate_from: float
    elevated_from: float
    target: str | None = only_when_set(_TARGET_DOC)


class ScoringRules(ResponseModel):
    description: str
    scales: dict[str, dict[str, int]]
    dimensions: list[ScoringDimension]
    items: list[ScoringItem]
    tendencies: dict[str, str]


class DemographicOptionDoc(ResponseModel):
    id: str = Field(description="The group's name in a grouped export.")
    label: str
    answer: int = Field(description="The answer that chooses it: its position, from 1.")


class DemographicDoc(ResponseModel):
    """A demographic item an export can be grouped by (``group_by`` = its id)."""

    id: str
    text: str
    options: list[DemographicOptionDoc]
    unanswered: str = Field(description="How the group of those who did not answer is shown.")


class PrivacyRules(ResponseModel):
    unit: str
    consent: str
    timestamps: str
    suppression: SuppressionRule
    differential_privacy: str
    dp_total_epsilon_per_study: float
    norms: str | None = Field(
        default=None, description="How norms files are released and what they cost."
    )
    norms_total_epsilon_per_questionnaire: float | None = None


class Codebook(ResponseModel):
    """A Frictionless Data Package (``datapackage.json``) describing every export."""

    profile: str = "tabular-data-package"
    name: str
    title: str
    description: str
    version: str
    created: dt.datetime
    keywords: list[str]
    questionnaire: QuestionnaireRef
    content_hashes: list[str] = Field(description=CONTENT_HASHES_DOC)
    scoring: ScoringRules
    demographics: list[DemographicDoc] | None = Field(
        default=None, description="The demographic items exports can be grouped by, if any."
    )
    privacy: PrivacyRules
    statistics: list[StatisticDoc]
    resources: list[DataResource]
