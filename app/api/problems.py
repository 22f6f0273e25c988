"""Domain errors rendered as RFC 9457 ``application/problem+json``: the HTTP side of
``app.errors``.

Every error body has ``type``, ``title``, ``status``, ``detail`` and, for invalid input,
``errors``: one ``{"item": <item id or field>, "message": ...}`` per problem. The risk edge
(``app.edge``) screens every request before routing; its notice is part of the error body when
the request's answers, or the response it is about, call for one: a rejected request still
shows help.

A database outage (``app.errors.outage_of``) is answered with 503 and ``Retry-After``, never
500, wherever it is met: in a route, in the group writer the route waited for, or in the risk
edge. A browser's page gets the page the web client shows for it, with the notice and the help.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    DATABASE_OUTAGES,
    DatabaseUnavailable,
    FieldProblem,
    InvalidInput,
    SecureBaseError,
    outage_of,
)
from app.headers import SECURITY_HEADERS
from app.services.notices import counted_in
from scoring.crisis import CrisisNotice

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("securebase.errors")


MAX_PROBLEMS = 50
MAX_ITEM_CHARS = 100
MAX_MESSAGE_CHARS = 300


def _echo(text: str, limit: int) -> str:
    """Text from the request as it may be echoed back: at most ``limit`` characters, and
    encodable (a lone surrogate, valid in a JSON string, is not valid UTF-8)."""
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


def problem_body(
    status: int, slug: str, title: str, detail: str, problems: Sequence[FieldProblem] = ()
) -> dict[str, Any]:
    """The problem document. At most ``MAX_PROBLEMS`` problems are listed, then one that says
    how many more there are; item ids and messages echoed from the request are shortened."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if problems:
        listed = [
            {"item": _echo(p.item, MAX_ITEM_CHARS), "message": _echo(p.message, MAX_MESSAGE_CHARS)}
            for p in problems[:MAX_PROBLEMS]
        ]
        if len(problems) > MAX_PROBLEMS:
            listed.append({"item": "errors", "message": f"and {len(problems) - MAX_PROBLEMS} more"})
        body["errors"] = listed
    return body


def body_of(error: SecureBaseError) -> dict[str, Any]:
    """The problem document of a domain error."""
    return problem_body(error.status_code, error.slug, error.title, error.detail, error.problems)


def problem_response(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    problems: Sequence[FieldProblem] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem response, with the crisis notice when the request's answers indicate risk
    (as the risk edge read them) or the response it is about has a stored level; the notice
    is counted for the operators (once for the answer: ``app.services.notices``)."""
    body = problem_body(status, slug, title, detail, problems)
    state = request.scope.get("state", {})
    notice: CrisisNotice | None = counted_in(state, state.get("crisis_notice"))
    if notice is not None:
        body["crisis"] = notice.model_dump(mode="json")
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _location(loc: Sequence[int | str]) -> str:
    """A field name for an error location: ``("body", "consent", "research")`` ->
    ``consent.research``; ``("body", 24)`` (a JSON syntax error at offset 24) -> ``body``."""
    if loc and loc[0] == "body" and all(isinstance(part, int) for part in loc[1:]):
        return "body"
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SecureBaseError)
    return problem_response(
        request, exc.status_code, exc.slug, exc.title, exc.detail, exc.problems, exc.headers
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        FieldProblem(_location(err.get("loc", ())), str(err.get("msg", "invalid")))
        for err in exc.errors()
    ]
    return problem_response(
        request, 422, InvalidInput.slug, InvalidInput.title, "See errors for each field.", problems
    )


BrowserPage = Callable[[Request, int], Response | None]
"""Given a request and an error status, the page a browser should see instead of
problem+json, or ``None`` when problem+json is right (an API call, a status without a page)."""


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    browser_page: BrowserPage | None = getattr(request.app.state, "browser_page", None)
    if browser_page is not None and (shown := browser_page(request, exc.status_code)) is not None:
        return shown
    if exc.status_code == 400:
        # The framework's only 400: a body it could not decode (e.g. not UTF-8).
        return problem_response(
            request,
            422,
            InvalidInput.slug,
            InvalidInput.title,
            "The body could not be read.",
            [FieldProblem("body", "must be JSON encoded as UTF-8")],
        )
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else "The request cannot be processed."
    return problem_response(
        request, exc.status_code, slug, detail, detail, headers=dict(exc.headers or {})
    )


def _unavailable(
    request: Request, outage: DatabaseUnavailable, error: Exception, extra: dict[str, str]
) -> Response:
    """503 for a database outage: the browser's page where it has one, else problem+json with
    ``extra`` headers; the notice the request's answers call for goes with either."""
    # Only the type: a database error's message can hold statements, their parameters (someone's
    # answers), file names or hosts.
    log.warning("database_unavailable", error_type=type(error).__name__)
    browser_page: BrowserPage | None = getattr(request.app.state, "browser_page", None)
    if browser_page is not None and (shown := browser_page(request, outage.status_code)):
        shown.headers.update(outage.headers)  # a page carries its own security headers
        return shown
    headers = {**extra, **outage.headers}
    return problem_response(
        request, outage.status_code, outage.slug, outage.title, outage.detail, headers=headers
    )


async def _on_outage(request: Request, exc: Exception) -> Response:
    return _unavailable(request, outage_of(exc) or DatabaseUnavailable(), exc, {})


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Rendered outside every middleware, so the security headers are added here.
    security = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
    outage = outage_of(exc)
    if outage is not None:  # met outside the routes (in a middleware)
        return _unavailable(request, outage, exc, security)
    # Only the type: messages can quote input, and input may be someone's answers.
    log.error("unhandled_error", error_type=type(exc).__name__)
    return problem_response(
        request,
        500,
        "internal-error",
        "Something went wrong",
        "An unexpected error occurred.",
        headers=security,
    )


def install_error_handlers(app: FastAPI, browser_page: BrowserPage | None = None) -> None:
    app.state.browser_page = browser_page
    app.add_exception_handler(SecureBaseError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for outage in DATABASE_OUTAGES:
        app.add_exception_handler(outage, _on_outage)
    app.add_exception_handler(Exception, _on_unexpected)
