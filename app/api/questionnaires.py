"""Questionnaires: list, read (with ETag) and score without storing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from app.deps import CatalogDep, LocaleDep
from app.schemas.common import CountryParam, LanguageParam
from app.schemas.problem import problem_responses
from app.schemas.questionnaires import QuestionnaireSummary, QuestionnaireView
from app.schemas.responses import ScoreRequest
from app.services import questionnaires as service
from scoring.result import ScoreResult

router = APIRouter(prefix="/questionnaires", tags=["questionnaires"])


@router.get(
    "",
    response_model=list[QuestionnaireSummary],
    operation_id="listQuestionnaires",
    summary="List the questionnaires",
)
def list_questionnaires(catalog: CatalogDep) -> list[QuestionnaireSummary]:
    """Every questionnaire offered."""
    return service.summaries(catalog)


@router.get(
    "/{questionnaire_id}",
    response_model=QuestionnaireView,
    operation_id="getQuestionnaire",
    summary="Get a questionnaire to render",
    responses={304: {"description": "Not modified"}, **problem_responses(404, 422)},
)
def read_questionnaire(
    questionnaire_id: str,
    catalog: CatalogDep,
    locale: LocaleDep,
    response: Response,
    lang: Annotated[LanguageParam | None, Query()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> QuestionnaireView | Response:
    """One questionnaire to render, in one language. ETag is its content hash."""
    loaded = service.find(catalog, questionnaire_id)
    etag = f'"{loaded.content_hash}"'
    view = service.render(loaded, locale.with_explicit(None, lang))
    if if_none_match is not None and (
        if_none_match.strip() == "*" or etag in {t.strip() for t in if_none_match.split(",")}
    ):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return view


@router.post(
    "/{questionnaire_id}/score",
    response_model=ScoreResult,
    operation_id="scoreAnswers",
    summary="Score answers without storing them",
    responses=problem_responses(404, 413, 422),
)
def score_answers(
    questionnaire_id: str, body: ScoreRequest, catalog: CatalogDep, locale: LocaleDep
) -> ScoreResult:
    """Score answers statelessly: nothing is stored."""
    return service.score_stateless(catalog, service.find(catalog, questionnaire_id), body, locale)


__all__ = ["CountryParam", "router"]
