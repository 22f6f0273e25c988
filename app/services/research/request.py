"""What an export covers: the questionnaire, the studies the key may see, the dates.

``since`` and ``until`` are widened to whole ISO weeks or months (the export's ``period``), so
that no export can be cut at a finer time than it shows; the applied range is in ``meta``.
Only responses scored with the questionnaire's current content hash, or with the hash of an
earlier version its definition declares measures the same (``research.same_measure_as``,
checked against the archived earlier file when it is loaded), are covered, so that the
codebook's scoring rules are exactly those behind every number. ``group_by`` names a column of
the response (study, language, country, tendency) or a demographic item the questionnaire
declares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

from app.errors import FieldProblem, InvalidInput, NotFound, SecureBaseError
from app.repositories.research_codes import packed_dimensions as packed_dimensions
from app.repositories.research_scope import (
    DemographicGroups,
    GroupBy,
    Grouping,
    PackedDimension,
    ResponseFilter,
)
from app.schemas.research import ExportFilters, PeriodUnit
from app.services import studies as study_registry
from app.services.research import periods
from app.services.research.access import Researcher
from app.services.research.context import ResearchContext
from scoring import answer_copy
from scoring.definition import Definition
from scoring.loading import LoadedDefinition
from scoring.result import QuestionnaireRef

PrivacyMode = Literal["suppression", "dp"]
MAX_PERIODS = 520
"""The longest time series an export lists (ten years of weeks)."""
LATEST_DATE = dt.date(9998, 12, 31)
"""The latest ``since`` or ``until``: widened to the end of its week or month and one day
past it, a date in the year 9999 could leave the calendar."""
MIN_EPSILON = 0.001
"""Below this a release would be pure noise (and the noise scale too large to compute)."""
RESPONSE_GROUPINGS: tuple[GroupBy, ...] = get_args(GroupBy)
"""The columns of a response any export can group by; demographic items come after them."""


class DpOnlyStudy(SecureBaseError):
    status_code = 403
    slug = "dp-only-study"
    title = "This study is released only with differential privacy"


@dataclass(frozen=True, slots=True)
class ExportParameters:
    questionnaire_id: str
    study: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    period: PeriodUnit = "month"
    group_by: str | None = None
    privacy: PrivacyMode = "suppression"
    epsilon: float | None = None


@dataclass(frozen=True, slots=True)
class Coverage:
    """An export's resolved scope."""

    loaded: LoadedDefinition
    parameters: ExportParameters
    researcher: Researcher
    since: dt.date | None
    until: dt.date | None
    where: ResponseFilter
    dimensions: tuple[PackedDimension, ...]
    grouping: Grouping | None = None
    left_out: tuple[str, ...] = ()
    """dp-only studies an exact export would otherwise have covered."""

    @property
    def definition(self) -> Definition:
        return self.loaded.definition

    @property
    def questionnaire(self) -> QuestionnaireRef:
        d = self.loaded.definition
        return QuestionnaireRef(id=d.id, version=d.version, hash=self.loaded.content_hash)

    @property
    def content_hashes(self) -> list[str]:
        """The content hashes of the covered responses: the current one first, then those of
        earlier versions declared to measure the same."""
        return list(self.where.content_hashes)

    def private_budget(self) -> tuple[str, float] | None:
        """``(study, epsilon)`` of a differentially private export; None with suppression."""
        p = self.parameters
        if p.privacy != "dp":
            return None
        if p.study is None or p.epsilon is None:
            raise ValueError("resolve() lets privacy=dp through only with a study and epsilon")
        return p.study, p.epsilon

    def filters(self) -> ExportFilters:
        p = self.parameters
        return ExportFilters(
            questionnaire_id=p.questionnaire_id,
            study=p.study,
            studies_in_scope=list(self.researcher.studies) if self.researcher.studies else None,
            since=self.since,
            until=self.until,
            period=p.period,
            group_by=p.group_by,
        )

    def description(self) -> str:
        d = self.loaded.definition
        parts = [
            f"Submitted responses with research consent to {d.id} version {d.version} "
            f"({self.loaded.content_hash})"
        ]
        if d.same_measure_as:
            parts.append(
                "or to an earlier version declared to measure the same "
                f"({', '.join(d.same_measure_as)})"
            )
        if self.parameters.study is not None:
            parts.append(f"in study {self.parameters.study}")
        elif self.researcher.studies is not None:
            parts.append(f"in the studies {', '.join(self.researcher.studies)}")
        if self.since is not None:
            parts.append(f"submitted from {self.since.isoformat()}")
        if self.until is not None:
            parts.append(f"up to and including {self.until.isoformat()} (UTC)")
        text = " ".join(parts) + "."
        if self.left_out:
            text += (
                " Left out, as released only with differential privacy: "
                f"{', '.join(self.left_out)}."
            )
        return text


def groupings(definition: Definition) -> list[str]:
    """Every ``group_by`` an export of the questionnaire accepts."""
    return [*RESPONSE_GROUPINGS, *(d.id for d in definition.demographics)]


def grouping_of(definition: Definition, group_by: str) -> Grouping | None:
    """What ``group_by`` groups by; None when the questionnaire has no such field."""
    for field in RESPONSE_GROUPINGS:
        if field == group_by:
            return field
    demographic = definition.demographic(group_by)
    if demographic is None:
        return None
    return DemographicGroups(
        item_id=demographic.id,
        position=answer_copy.position_of(definition, demographic.id),
        option_ids=tuple(option.id for option in demographic.options),
    )


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def resolve(ctx: ResearchContext, researcher: Researcher, parameters: ExportParameters) -> Coverage:
    """Check the parameters against the catalog, the key's scope and each other."""
    loaded = ctx.catalog.get(parameters.questionnaire_id)
    if loaded is None:
        raise InvalidInput(
            "Unknown questionnaire.",
            [FieldProblem("questionnaire_id", f"no questionnaire {parameters.questionnaire_id!r}")],
        )
    if parameters.study is not None and not researcher.may_see(parameters.study):
        raise NotFound(
            "No such study for this key.",
            [FieldProblem("study", "not a study this key may see")],
        )
    if (
        parameters.privacy == "suppression"
        and parameters.study is not None
        and study_registry.is_dp_only(ctx.session, parameters.study)
    ):
        raise DpOnlyStudy(
            f"Study {parameters.study!r} is registered dp-only: it is released only through "
            "privacy=dp.",
            [FieldProblem("privacy", "this study is dp-only: use privacy=dp with an epsilon")],
        )
    problems = _privacy_problems(ctx, parameters)
    grouping = None
    if parameters.group_by is not None:
        grouping = grouping_of(loaded.definition, parameters.group_by)
        if grouping is None:
            allowed = ", ".join(groupings(loaded.definition))
            problems.append(
                FieldProblem("group_by", f"{parameters.group_by!r} is not one of: {allowed}")
            )
    unit = parameters.period
    for name, day in (("since", parameters.since), ("until", parameters.until)):
        if day is not None and day > LATEST_DATE:
            problems.append(FieldProblem(name, f"must be no later than {LATEST_DATE.isoformat()}"))
    if problems:
        raise InvalidInput("Some of the export's parameters are not valid.", problems)
    since = periods.start_of(parameters.since, unit) if parameters.since else None
    until = periods.end_of(parameters.until, unit) if parameters.until else None
    if since is not None and until is not None:
        if since > until:
            problems.append(FieldProblem("until", "must not be before since"))
        elif periods.count_between(since, until, unit) > MAX_PERIODS:
            problems.append(
                FieldProblem("since", f"the range spans more than {MAX_PERIODS} {unit}s")
            )
    if problems:
        raise InvalidInput("Some of the export's parameters are not valid.", problems)

    if parameters.study is not None:
        studies: tuple[str, ...] | None = (parameters.study,)
    else:
        studies = researcher.studies
    # An exact export never covers a dp-only study, not even among others: the difference of
    # two exact exports (with and without it) would release it exactly.
    dp_only = study_registry.dp_only_studies(ctx.session) if parameters.privacy != "dp" else ()
    excluded: tuple[str, ...] = ()
    if studies is None:
        excluded = left_out = dp_only
    else:
        left_out = tuple(s for s in studies if s in dp_only)
        studies = tuple(s for s in studies if s not in dp_only)
    where = ResponseFilter(
        questionnaire_id=loaded.definition.id,
        questionnaire_hash=loaded.content_hash,
        same_measure_as=loaded.definition.same_measure_as,
        studies=studies,
        excluded_studies=excluded,
        submitted_from=_utc_midnight(since) if since else None,
        submitted_before=_utc_midnight(until + dt.timedelta(days=1)) if until else None,
    )
    return Coverage(
        loaded=loaded,
        parameters=parameters,
        researcher=researcher,
        since=since,
        until=until,
        where=where,
        dimensions=packed_dimensions(loaded.definition),
        grouping=grouping,
        left_out=left_out,
    )


def _privacy_problems(ctx: ResearchContext, p: ExportParameters) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if p.privacy == "suppression":
        if p.epsilon is not None:
            problems.append(FieldProblem("epsilon", "only with privacy=dp"))
        return problems
    total = ctx.settings.dp_total_epsilon
    if p.epsilon is None:
        problems.append(FieldProblem("epsilon", "required with privacy=dp"))
    elif not MIN_EPSILON <= p.epsilon <= total:
        problems.append(
            FieldProblem("epsilon", f"must be from {MIN_EPSILON} to the study's total of {total}")
        )
    if p.study is None:
        problems.append(
            FieldProblem("study", "required with privacy=dp: the budget is kept per study")
        )
    if p.group_by is not None:
        problems.append(FieldProblem("group_by", "not available with privacy=dp"))
    return problems
