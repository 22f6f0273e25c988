"""The codebook: a Frictionless Data Package (``datapackage.json``) describing the CSV form of
every export, with the questionnaire's identity, its scoring rules, the privacy rules and the
definition of every statistic, and the demographic items exports can be grouped by with their
option ids. Saved next to the CSV files of a study (``summary.csv``, ``histograms.csv``,
``items.csv``), it lets the ``frictionless`` tools validate them.
"""

from __future__ import annotations

from app.schemas.research import (
    Codebook,
    CsvDialect,
    DataResource,
    DemographicDoc,
    DemographicOptionDoc,
    PrivacyRules,
    ScoringDimension,
    ScoringItem,
    ScoringRules,
    StatisticDoc,
    TableSchema,
)
from app.services.research import audit, columns
from app.services.research.columns import HEADER_ROW, NO_VALUE_GROUP
from app.services.research.context import ResearchContext
from app.services.research.meta import suppression_rule
from app.services.research.request import Coverage
from app.services.research.scores import elevation_threshold
from app.services.research.vocabulary import SECURE
from scoring.engine import needed_answers

STATISTIC_DOCS = [
    StatisticDoc(
        name="n",
        formula="The number of responses the value describes.",
        missing_data="Dimension n: responses with enough answers to be scored. Item n: "
        "responses that answered the item. Reliability n: responses that answered every "
        "item of the dimension. Correlation n: responses scored on every dimension.",
        reference="Counts from 1 to k-1 are withheld: Centers for Medicare & Medicaid "
        "Services, Cell Size Suppression Policy (counts of 1 to 10 are not released).",
    ),
    StatisticDoc(
        name="mean",
        formula="sum(x) / n.",
        missing_data="Dimension scores: scored responses only. Items: the answers given "
        "(before reverse keying).",
        reference="-",
    ),
    StatisticDoc(
        name="sd",
        formula="Sample standard deviation sqrt(sum((x - mean)^2) / (n - 1)).",
        missing_data="As for the mean; empty when n < 2.",
        reference="Bessel's correction.",
    ),
    StatisticDoc(
        name="median, q1, q3",
        formula="Quantiles at 0.5, 0.25, 0.75: with sorted values x[0..n-1] and h = (n - 1) p, "
        "x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)]).",
        missing_data="Scored responses only.",
        reference="Hyndman, R. J., & Fan, Y. (1996). Sample quantiles in statistical "
        "packages. The American Statistician, 50(4), 361-365 (definition 7).",
    ),
    StatisticDoc(
        name="min, max",
        formula="The lowest and highest score.",
        missing_data="Scored responses only.",
        reference="-",
    ),
    StatisticDoc(
        name="share, rate",
        formula="count / n of the same group.",
        missing_data="All responses of the group.",
        reference="-",
    ),
    StatisticDoc(
        name="alpha",
        formula="k / (k - 1) * (1 - sum(var(x_i)) / var(T)), T the sum of the k keyed items, "
        "sample variances.",
        missing_data="Listwise: responses that answered every item of the dimension.",
        reference="Cronbach, L. J. (1951). Coefficient alpha and the internal structure of "
        "tests. Psychometrika, 16(3), 297-334.",
    ),
    StatisticDoc(
        name="alpha_if_deleted",
        formula="alpha of the dimension's other k - 1 items.",
        missing_data="As for alpha.",
        reference="Cronbach (1951).",
    ),
    StatisticDoc(
        name="corrected_item_total",
        formula="Pearson r between the keyed item and the sum of the dimension's other keyed "
        "items: (cov(x_i, T) - var(x_i)) / sqrt(var(x_i) var(T - x_i)).",
        missing_data="As for alpha.",
        reference="Nunnally, J. C., & Bernstein, I. H. (1994). Psychometric theory (3rd "
        "ed.). McGraw-Hill, ch. 8.",
    ),
    StatisticDoc(
        name="r",
        formula="Pearson r between two dimensions' scores: (n sxy - sx sy) / sqrt((n sxx - "
        "sx^2)(n syy - sy^2)).",
        missing_data="Responses scored on every dimension.",
        reference="Pearson, K. (1895). Proceedings of the Royal Society of London, 58, 240-242.",
    ),
    StatisticDoc(
        name="count (histogram)",
        formula="Scores with lower <= score < upper (the last bin: <= upper). Bins are half a "
        "scale point wide (a twentieth of the range for scales wider than ten points), with "
        "the band thresholds as edges.",
        missing_data="Scored responses only.",
        reference="-",
    ),
]


_BASE = "/api/v1/research"
_RESOURCES = (
    (
        "summary",
        "Summary",
        "N, dimension score statistics, tendencies, crisis-notice rates, responses per "
        "period, optionally by group.",
        columns.SUMMARY,
    ),
    (
        "histograms",
        "Histograms of dimension scores",
        "each dimension's scores in fixed bins derived from the scale.",
        columns.HISTOGRAMS,
    ),
    (
        "items",
        "Items, reliability and correlations",
        "per item N, mean, SD and answer distribution; Cronbach's alpha per dimension with "
        "alpha if item deleted and corrected item-total correlations; correlations of "
        "dimension scores.",
        columns.ITEMS,
    ),
)
"""Each CSV export: its name, title, what it holds and its columns."""


def _resources(coverage: Coverage) -> list[DataResource]:
    definition = coverage.definition
    return [
        DataResource(
            name=name,
            path=f"{name}.csv",
            title=title,
            description=f"GET {_BASE}/{name}?format=csv: {what}",
            dialect=CsvDialect(headerRows=[HEADER_ROW]),
            table_schema=TableSchema(fields=[column.field(definition) for column in table]),
        )
        for name, title, what, table in _RESOURCES
    ]


def _demographics(coverage: Coverage) -> list[DemographicDoc] | None:
    definition = coverage.definition
    if not definition.demographics:
        return None
    language = definition.languages[0]
    return [
        DemographicDoc(
            id=item.id,
            text=item.text.get(language) or next(iter(item.text.values())),
            options=[
                DemographicOptionDoc(
                    id=option.id,
                    label=option.label.get(language) or next(iter(option.label.values())),
                    answer=place,
                )
                for place, option in enumerate(item.options, start=1)
            ],
            unanswered=f"group {NO_VALUE_GROUP} in CSV, null in JSON",
        )
        for item in definition.demographics
    ]


def _scoring(coverage: Coverage) -> ScoringRules:
    definition = coverage.definition
    tendencies: dict[str, str] = {}
    for rule in definition.tendencies:
        threshold = elevation_threshold(definition, rule.id)
        tendencies[rule.id] = (
            f"elevated when the {rule.dimension} score is at least {threshold:g} "
            f"(band {rule.elevated_band} or higher)"
            if threshold is not None
            else f"elevated whenever {rule.dimension} is scored"
        )
    tendencies[SECURE] = (
        "primary tendency when every dimension is scored and none is elevated; otherwise the "
        "primary tendency is the elevated one furthest above its threshold"
        if not definition.targets
        else "never a response's primary tendency: answered about several relationships, a "
        "response has none (each relationship's is in its result), so every response counts "
        "as undetermined"
    )
    return ScoringRules(
        description="A reverse-keyed answer x counts as min + max - x. A dimension's score is "
        "the mean of its answered items, given only when at least min_answered_fraction of "
        "them are answered (needed_answers). Bands: low below moderate_from, moderate from "
        "there, elevated from elevated_from. Wellbeing and demographic items never enter the "
        "scores.",
        scales={
            name: {"min": scale.min, "max": scale.max} for name, scale in definition.scales.items()
        },
        dimensions=[
            ScoringDimension(
                id=d.id,
                items=[i.id for i in definition.items_of(d.id)],
                rule=d.rule,
                min_answered_fraction=d.min_answered_fraction,
                needed_answers=needed_answers(
                    len(definition.items_of(d.id)), d.min_answered_fraction
                ),
                moderate_from=d.bands.moderate_from,
                elevated_from=d.bands.elevated_from,
                target=d.target,
            )
            for d in definition.dimensions
        ],
        items=[
            ScoringItem(
                id=i.id, dimension=i.dimension, scale=i.scale, reverse=i.reverse, target=i.target
            )
            for i in definition.items
        ],
        tendencies=tendencies,
    )


NORMS_DOC = (
    "Norms files (securebase norms build) release, through OpenDP with the same mechanism, "
    "the number of covered responses and per dimension a histogram of the scores (one bin per "
    "score a fully answered dimension can have); epsilon is shared equally by these "
    "1 + dimensions releases and charged to the ledger row norms:<questionnaire id>, apart "
    "from every study's budget, so one respondent's loss is at most their study's total plus "
    "the questionnaire's norms total. A build is refused when the released N is under the "
    "minimum sample (the count's share is then spent). Each result then shows the share of the "
    "norm sample scoring below the person, with an about-95% interval from the noise and the "
    "bin width."
)


def codebook(ctx: ResearchContext, coverage: Coverage) -> Codebook:
    """The data package for a questionnaire's exports."""
    definition = coverage.definition
    k = ctx.settings.min_cell_size
    result = Codebook(
        name=f"securebase-{definition.id}-research".lower(),
        title=f"Secure Base research exports: {definition.title.get('en', definition.id)}",
        description="Aggregated statistics of submitted responses whose respondents opted in "
        "to research. Only counts and statistics of groups are published, never a response.",
        version=definition.version,
        created=ctx.now(),
        keywords=["attachment", "self-report", "aggregate statistics"],
        questionnaire=coverage.questionnaire,
        content_hashes=coverage.content_hashes,
        scoring=_scoring(coverage),
        demographics=_demographics(coverage),
        privacy=PrivacyRules(
            unit="one response",
            consent="Only submitted responses whose respondent answered yes to research use; "
            "an erased response is gone from every later export.",
            timestamps="Only the ISO week or calendar month of submission (UTC) is shown; "
            "since and until are widened to whole periods.",
            suppression=suppression_rule(k),
            differential_privacy="With privacy=dp&epsilon=e (and a study): counts, means and "
            "histograms are released with OpenDP's Laplace mechanism (discrete for counts), "
            "the export's epsilon shared equally by its released quantities, bounds from the "
            "scale; quantiles, SDs, reliability and correlations are not released. Each "
            "study's releases together may spend at most the total below.",
            dp_total_epsilon_per_study=ctx.settings.dp_total_epsilon,
            norms=NORMS_DOC,
            norms_total_epsilon_per_questionnaire=ctx.settings.norms_total_epsilon,
        ),
        statistics=STATISTIC_DOCS,
        resources=_resources(coverage),
    )
    audit.record(ctx, "codebook", coverage, export_format="json", n=None, withheld=0, epsilon=None)
    return result
