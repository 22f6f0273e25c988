"""Response sessions: start, save answers, submit, read, erase."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.deps import BearerToken, ContextDep, IdempotencyKey, LocaleDep
from app.schemas.common import CountryParam
from app.schemas.problem import problem_responses
from app.schemas.responses import (
    AnswersSaved,
    CreateResponseRequest,
    ResponseCreated,
    ResponseView,
    SaveAnswersRequest,
    Submitted,
)
from app.services import responses as service

router = APIRouter(prefix="/responses", tags=["responses"])
NO_STORE = {"Cache-Control": "no-store"}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ResponseCreated,
    operation_id="createResponse",
    summary="Start a response",
    responses=problem_responses(400, 413, 422),
)
def create_response(
    body: CreateResponseRequest,
    ctx: ContextDep,
    locale: LocaleDep,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> ResponseCreated:
    """Start a response (and with ``submit``, finish it). The token is shown only here."""
    response.headers.update(NO_STORE)
    return service.start(ctx, body, locale, idempotency_key)


@router.put(
    "/{response_id}/answers",
    response_model=AnswersSaved,
    operation_id="saveAnswers",
    summary="Save answers",
    responses=problem_responses(404, 409, 413, 422),
)
def save_answers(
    response_id: str,
    body: SaveAnswersRequest,
    ctx: ContextDep,
    locale: LocaleDep,
    token: BearerToken,
) -> AnswersSaved:
    """Merge answers into an unsubmitted response."""
    return service.save_answers(ctx, response_id, token, body, locale)


@router.post(
    "/{response_id}/submit",
    response_model=Submitted,
    operation_id="submitResponse",
    summary="Submit a response for its result",
    responses=problem_responses(400, 404, 409, 422),
)
def submit_response(
    response_id: str,
    ctx: ContextDep,
    locale: LocaleDep,
    token: BearerToken,
    _idempotency_key: IdempotencyKey,
    response: Response,
    country: Annotated[CountryParam | None, Query()] = None,
) -> Submitted:
    """Score and finish a response; again returns the same result."""
    response.headers.update(NO_STORE)
    return service.submit(ctx, response_id, token, locale.with_explicit(country, None))


@router.get(
    "/{response_id}",
    response_model=ResponseView,
    operation_id="getResponse",
    summary="Get a response",
    responses=problem_responses(404, 409, 422),
)
def read_response(
    response_id: str,
    ctx: ContextDep,
    locale: LocaleDep,
    token: BearerToken,
    response: Response,
    country: Annotated[CountryParam | None, Query()] = None,
) -> ResponseView:
    """The stored answers and result."""
    response.headers.update(NO_STORE)
    return service.read(ctx, response_id, token, locale.with_explicit(country, None))


@router.delete(
    "/{response_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="deleteResponse",
    summary="Erase a response",
    responses=problem_responses(404, 422),
)
def erase_response(response_id: str, ctx: ContextDep, token: BearerToken) -> Response:
    """Erase the response and everything derived from it."""
    service.erase(ctx, response_id, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
