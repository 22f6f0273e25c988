"""Research exports: aggregated statistics of a study for holders of a researcher key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.export_thread import run_export
from app.deps import CatalogDep, ReadSessionDep, SessionDep, SettingsDep
from app.errors import SecureBaseError, Unauthorized
from app.negotiation import media_quality
from app.schemas.common import StudyCode
from app.schemas.problem import problem_responses
from app.schemas.research import (
    Codebook,
    ExportFormat,
    HistogramsExport,
    ItemsExport,
    PeriodUnit,
    PrivacyMode,
    SummaryExport,
)
from app.services.research import access, quota
from app.services.research import audit as research_audit
from app.services.research.context import ResearchContext
from app.services.research.request import MIN_EPSILON, Coverage, ExportParameters, resolve

log = structlog.get_logger("securebase.research")


# The exports themselves (their statistics, suppression, differential privacy and CSV form)
# are imported by the first research call, not at start-up: no respondent's request needs
# them, and the routes above declare everything the OpenAPI document says about them.


def build_summary(ctx: ResearchContext, coverage: Coverage, export_format: str) -> SummaryExport:
    from app.services.research.summary import summary

    return summary(ctx, coverage, export_format)


def build_histograms(
    ctx: ResearchContext, coverage: Coverage, export_format: str
) -> HistogramsExport:
    from app.services.research.histograms import histograms

    return histograms(ctx, coverage, export_format)


def build_items(ctx: ResearchContext, coverage: Coverage, export_format: str) -> ItemsExport:
    from app.services.research.items import items

    return items(ctx, coverage, export_format)


def build_codebook(ctx: ResearchContext, coverage: Coverage) -> Codebook:
    from app.services.research.codebook import codebook

    return codebook(ctx, coverage)


def summary_csv(export: SummaryExport) -> str:
    from app.services.research.csv_format import summary_csv

    return summary_csv(export)


def histograms_csv(export: HistogramsExport) -> str:
    from app.services.research.csv_format import histograms_csv

    return histograms_csv(export)


def items_csv(export: ItemsExport) -> str:
    from app.services.research.csv_format import items_csv

    return items_csv(export)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, SecureBaseError):
        return exc.status_code
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        return 422
    return 500


def _record_refusal(request: Request, endpoint: str, outcome: int) -> None:
    try:
        research_audit.record_refusal(
            request.app.state.engine,
            endpoint,
            getattr(request.state, "researcher_key_id", None),
            outcome,
            dict(request.query_params),
            dt.datetime.now(dt.UTC),
        )
    except Exception as exc:  # the refusal itself must still be answered
        log.error("audit_failed", error_type=type(exc).__name__)


class AuditedRoute(APIRoute):
    """Every research call reaches the audit log: an export served logs itself; a call that
    is refused, for whatever reason, is logged here with its status, once the request's own
    transaction has ended (on SQLite it holds the write lock until then)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        endpoint = self.path.rsplit("/", 1)[-1]

        def after_the_transaction(request: Request, outcome: int) -> None:
            stack: AsyncExitStack = request.scope["fastapi_inner_astack"]
            stack.push_async_callback(
                run_in_threadpool, _record_refusal, request, endpoint, outcome
            )

        async def audited(request: Request) -> Response:
            try:
                response = await handle(request)
            except Exception as exc:
                after_the_transaction(request, _status_of(exc))
                raise
            if response.status_code >= 400:
                after_the_transaction(request, response.status_code)
            return response

        return audited


router = APIRouter(prefix="/research", tags=["research"], route_class=AuditedRoute)

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ResearcherKey",
    description="A researcher key from `securebase researchers add`.",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="research"'}
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {
        **problem_responses(401)[401],
        "headers": {
            "WWW-Authenticate": {
                "description": "Bearer: send the researcher key.",
                "schema": {"type": "string"},
            }
        },
    }
}
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export (CSV with format=csv or Accept: text/csv)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **_UNAUTHORIZED,
    **problem_responses(403, 404, 422, 429, 503),
}
_NO_STORE = {"Cache-Control": "no-store"}


def get_research_context(
    session: ReadSessionDep, writer: SessionDep, catalog: CatalogDep, settings: SettingsDep
) -> ResearchContext:
    return ResearchContext(session, catalog, settings, writer)


ResearchContextDep = Annotated[ResearchContext, Depends(get_research_context, scope="function")]


def get_researcher(
    ctx: ResearchContextDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> access.Researcher:
    """The key's holder; 401 for a missing, wrong or revoked key, 429 when it has had its
    calls for the hour."""
    researcher = access.authenticate(ctx.session, credentials.credentials if credentials else None)
    if researcher is None:
        raise Unauthorized("A valid researcher key is required.", headers=_CHALLENGE)
    request.state.researcher_key_id = researcher.key_id  # for the audit of a refusal
    quota.check(ctx, researcher)
    return researcher


ResearcherDep = Annotated[access.Researcher, Depends(get_researcher)]
QuestionnaireParam = Annotated[
    str, Query(min_length=1, max_length=64, description="The questionnaire (required).")
]
StudyParam = Annotated[
    StudyCode | None, Query(description="One study (default: every study the key may see).")
]
SinceParam = Annotated[
    dt.date | None, Query(description="From this date (widened to the start of its period).")
]
UntilParam = Annotated[
    dt.date | None, Query(description="Up to this date (widened to the end of its period).")
]
PeriodParam = Annotated[PeriodUnit, Query(description="The time resolution: week or month.")]
PrivacyParam = Annotated[
    PrivacyMode,
    Query(
        description="suppression (default) or dp (differential privacy; needs study and "
        "epsilon). A study registered dp-only is refused an exact export (403)."
    ),
]
EpsilonParam = Annotated[
    float | None,
    Query(
        ge=MIN_EPSILON,
        description="Only with privacy=dp, and required there: the epsilon this release "
        "spends, at most the study's total budget. Sent without privacy=dp it is refused "
        "with 422 naming epsilon.",
    ),
]
FormatParam = Annotated[
    ExportFormat | None, Query(description="json (default) or csv; or send Accept: text/csv.")
]


@dataclass(frozen=True, slots=True)
class ExportQuery:
    """What an export was asked for: its scope and whether the answer is CSV."""

    parameters: ExportParameters
    as_csv: bool

    @property
    def export_format(self) -> str:
        return "csv" if self.as_csv else "json"


def export_query(
    request: Request,
    questionnaire_id: QuestionnaireParam,
    study: StudyParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    period: PeriodParam = "month",
    privacy: PrivacyParam = "suppression",
    epsilon: EpsilonParam = None,
    format: FormatParam = None,
) -> ExportQuery:
    """The query every export takes; ``format`` wins over ``Accept``, which picks CSV only
    when it wants ``text/csv`` more than JSON."""
    if format is not None:
        as_csv = format == "csv"
    else:
        accept = request.headers.get("accept")
        as_csv = media_quality(accept, "text/csv") > media_quality(accept, "application/json")
    parameters = ExportParameters(
        questionnaire_id, study, since, until, period, None, privacy, epsilon
    )
    return ExportQuery(parameters, as_csv)


ExportQueryDep = Annotated[ExportQuery, Depends(export_query)]
Exported = TypeVar("Exported", SummaryExport, HistogramsExport, ItemsExport)
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


async def _export(
    ctx: ResearchContext,
    researcher: access.Researcher,
    query: ExportQuery,
    response: Response,
    build: Callable[[ResearchContext, Coverage, str], Exported],
    as_text: Callable[[Exported], str],
    name: str,
) -> Exported | Response:
    """Resolve the query, build the export on the export thread (``export_thread``), and
    answer with JSON or with CSV (``name``.csv)."""
    export = await run_export(
        partial(_build, ctx, researcher, query.parameters, build, query.export_format)
    )
    if query.as_csv:
        return _csv(as_text(export), name)
    response.headers.update(_NO_STORE)
    return export


def _build(
    ctx: ResearchContext,
    researcher: access.Researcher,
    parameters: ExportParameters,
    build: Callable[[ResearchContext, Coverage, str], Exported],
    export_format: str,
) -> Exported:
    return build(ctx, resolve(ctx, researcher, parameters), export_format)


def _export_route(
    name: str, model: type[Exported], operation_id: str, summary: str
) -> Callable[[Endpoint], Endpoint]:
    return router.get(
        f"/{name}",
        response_model=model,
        operation_id=operation_id,
        summary=summary,
        responses=_EXPORT_RESPONSES,
    )


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={**_NO_STORE, "Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@_export_route(
    "summary", SummaryExport, "getResearchSummary", "Research export: summary statistics"
)
async def summary(
    ctx: ResearchContextDep,
    researcher: ResearcherDep,
    query: ExportQueryDep,
    response: Response,
    group_by: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Also summarise each group of this field: study, language, country, "
            "tendency, or a demographic item the questionnaire declares.",
        ),
    ] = None,
) -> SummaryExport | Response:
    """N, dimension statistics, tendencies, crisis rates and responses per period."""
    grouped = replace(query, parameters=replace(query.parameters, group_by=group_by))
    return await _export(ctx, researcher, grouped, response, build_summary, summary_csv, "summary")


def _add_export(
    name: str,
    model: type[Exported],
    operation_id: str,
    summary: str,
    description: str,
    build: Callable[[ResearchContext, Coverage, str], Exported],
    as_text: Callable[[Exported], str],
) -> None:
    """Register an export that takes exactly the shared query (``summary`` adds group_by)."""

    async def endpoint(
        ctx: ResearchContextDep,
        researcher: ResearcherDep,
        query: ExportQueryDep,
        response: Response,
    ) -> Any:
        return await _export(ctx, researcher, query, response, build, as_text, name)

    endpoint.__doc__ = description
    _export_route(name, model, operation_id, summary)(endpoint)


_add_export(
    "histograms",
    HistogramsExport,
    "getResearchHistograms",
    "Research export: score histograms",
    "Each dimension's scores in fixed bins derived from the scale.",
    build_histograms,
    histograms_csv,
)
_add_export(
    "items",
    ItemsExport,
    "getResearchItems",
    "Research export: item statistics and reliability",
    "Item statistics, Cronbach's alpha per dimension and correlations of the scores.",
    build_items,
    items_csv,
)


@router.get(
    "/codebook",
    response_model=Codebook,
    operation_id="getResearchCodebook",
    summary="Research export: codebook (Data Package)",
    response_model_exclude_none=True,
    responses={**_UNAUTHORIZED, **problem_responses(404, 422, 429, 503)},
)
def codebook(
    ctx: ResearchContextDep, researcher: ResearcherDep, questionnaire_id: QuestionnaireParam
) -> Codebook:
    """The Frictionless Data Package (datapackage.json) describing every export."""
    return build_codebook(ctx, resolve(ctx, researcher, ExportParameters(questionnaire_id)))
