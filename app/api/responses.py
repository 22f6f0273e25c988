"""Response sessions: start, save answers, submit, read, erase.

Starting (with ``submit``) and submitting are the hot path: their handlers are ``async`` and
hand their writes to the process's writer, which commits many requests at once (see
``app.services.writer``); a 2xx still means the write is committed. Reading uses a read-only
snapshot that never takes the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import TypeAdapter, ValidationError

from app.api.direct import DirectRoute, answered_directly, screened_json
from app.deps import (
    BearerToken,
    ContextDep,
    IdempotencyKey,
    LocaleDep,
    ReadContextDep,
    SubmissionDep,
    locale_of,
    submission_context,
    valid_idempotency_key,
)
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
from app.services import saved_submissions, submissions
from app.services.locale import RequestLocale

# The edge has parsed each body already: the routes validate its document (screened_body);
# a route with a direct answer answers its ordinary request with it (direct).
router = APIRouter(prefix="/responses", tags=["responses"], route_class=DirectRoute)
NO_STORE = {"Cache-Control": "no-store"}
_CREATED = TypeAdapter(ResponseCreated)


@dataclass(frozen=True, slots=True)
class Addressed:
    """A request about one stored response: its id, the bearer's token and the locale (an
    explicit ``country`` query parameter first). Its reply is never cached."""

    response_id: str
    token: str | None
    locale: RequestLocale


async def addressed(
    response_id: str,
    locale: LocaleDep,
    token: BearerToken,
    response: Response,
    country: Annotated[CountryParam | None, Query()] = None,
) -> Addressed:
    response.headers.update(NO_STORE)
    return Addressed(response_id, token, locale.with_explicit(country, None))


AddressedDep = Annotated[Addressed, Depends(addressed)]


async def create_directly(request: Request) -> Response | None:
    """:func:`create_response`'s answer to a request whose body validates and whose
    Idempotency-Key, if any, is valid; None (before any work) for every other request."""
    document = screened_json(request)
    if document is None:
        return None
    try:
        body = CreateResponseRequest.model_validate(document)
    except ValidationError:
        return None
    headers = request.headers
    idempotency_key = headers.get("idempotency-key")
    if idempotency_key is not None and not valid_idempotency_key(idempotency_key):
        return None
    ctx = submission_context(request)
    locale = locale_of(ctx.settings, headers.get("accept-language"))
    created = await submissions.start_grouped(ctx, body, locale, idempotency_key)
    # As FastAPI answers with the response model: its JSON, then the endpoint's own headers.
    answer = Response(
        _CREATED.dump_json(created, by_alias=True),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
    )
    answer.headers.update(NO_STORE)
    return answer


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ResponseCreated,
    operation_id="createResponse",
    summary="Start a response",
    responses=problem_responses(400, 413, 422, 503),
)
@answered_directly(create_directly)
async def create_response(
    body: CreateResponseRequest,
    ctx: SubmissionDep,
    locale: LocaleDep,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> ResponseCreated:
    """Start a response (and with ``submit``, finish it). The token is shown only here."""
    response.headers.update(NO_STORE)
    return await submissions.start_grouped(ctx, body, locale, idempotency_key)


@router.put(
    "/{response_id}/answers",
    response_model=AnswersSaved,
    operation_id="saveAnswers",
    summary="Save answers",
    responses=problem_responses(404, 409, 413, 422, 503),
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
    responses=problem_responses(400, 404, 409, 422, 503),
)
async def submit_response(
    ctx: SubmissionDep, target: AddressedDep, _idempotency_key: IdempotencyKey
) -> Submitted:
    """Score and finish a response; again returns the same result."""
    return await saved_submissions.submit_grouped(
        ctx, target.response_id, target.token, target.locale
    )


@router.get(
    "/{response_id}",
    response_model=ResponseView,
    operation_id="getResponse",
    summary="Get a response",
    responses=problem_responses(404, 409, 422, 503),
)
def read_response(ctx: ReadContextDep, target: AddressedDep) -> ResponseView:
    """The stored answers and result."""
    return service.read(ctx, target.response_id, target.token, target.locale)


@router.delete(
    "/{response_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="deleteResponse",
    summary="Erase a response",
    responses=problem_responses(404, 422, 503),
)
def erase_response(response_id: str, ctx: ContextDep, token: BearerToken) -> Response:
    """Erase the response and everything derived from it."""
    service.erase(ctx, response_id, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
