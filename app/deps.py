"""Typed dependencies for the routers."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import read_only, read_session_scope, session_scope
from app.errors import FieldProblem, InvalidInput
from app.locale import header_locale
from app.services.locale import RequestLocale
from app.services.responses import ResponseContext
from app.services.submissions import SubmissionContext
from app.services.writer import writer_for
from scoring.catalog import Catalog

# The dependencies that only look something up are ``async``: FastAPI runs a plain ``def``
# dependency in a worker thread, a round trip the hot path should not pay for a lookup.


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    yield from session_scope(engine)


def get_read_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    yield from read_session_scope(engine)


async def get_read_engine(engine: Annotated[Engine, Depends(get_engine)]) -> Engine:
    return read_only(engine)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
EngineDep = Annotated[Engine, Depends(get_engine)]
# scope="function": commit when the handler returns, before the response is sent, so that a
# 2xx always means the data is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# For work that only reads (exports, GETs, readiness): a snapshot that never takes or waits
# for the write lock, so it cannot hold up a submission; writing through it fails.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
ReadEngineDep = Annotated[Engine, Depends(get_read_engine)]


# The per-request dependencies of the submission route read the application's state
# directly rather than through the dependencies above: each dependency FastAPI solves costs
# about as much as reading a header, and the hot path would solve these on every request.


def locale_of(settings: Settings, accept_language: str | None) -> RequestLocale:
    """What the request's ``Accept-Language`` header and the settings say about its locale."""
    country, languages = header_locale(accept_language)
    return RequestLocale(
        header_country=country,
        default_country=settings.default_country,
        header_languages=languages,
    )


async def get_locale(request: Request) -> RequestLocale:
    return locale_of(request.app.state.settings, request.headers.get("accept-language"))


LocaleDep = Annotated[RequestLocale, Depends(get_locale)]


async def get_context(
    session: SessionDep, catalog: CatalogDep, settings: SettingsDep
) -> ResponseContext:
    return ResponseContext(session, catalog, settings)


ContextDep = Annotated[ResponseContext, Depends(get_context, scope="function")]


async def get_read_context(
    session: ReadSessionDep, catalog: CatalogDep, settings: SettingsDep
) -> ResponseContext:
    return ResponseContext(session, catalog, settings)


# For use cases that only read: the same context over a read-only snapshot.
ReadContextDep = Annotated[ResponseContext, Depends(get_read_context, scope="function")]


_SUBMISSION_CONTEXTS: weakref.WeakKeyDictionary[Engine, SubmissionContext] = (
    weakref.WeakKeyDictionary()
)


def submission_context(request: Request) -> SubmissionContext:
    """The application's submission context: made once per engine (each has one writer for
    good), and again only if the application's catalog or settings are replaced."""
    # State keeps what is set on it in a plain dict; reading that dict skips the raised and
    # caught AttributeError behind each ``state.name`` (about 1 us a name, three per request).
    state = request.app.state._state
    engine: Engine = state["engine"]
    catalog: Catalog = state["catalog"]
    settings: Settings = state["settings"]
    kept = _SUBMISSION_CONTEXTS.get(engine)
    if kept is None or kept.catalog is not catalog or kept.settings is not settings:
        kept = SubmissionContext(catalog, settings, read_only(engine), writer_for(engine))
        _SUBMISSION_CONTEXTS[engine] = kept
    return kept


async def get_submission_context(request: Request) -> SubmissionContext:
    return submission_context(request)


# For the submission hot path: no session of its own; reads through a read-only engine and
# hands its writes to the process's writer, which commits them in groups.
SubmissionDep = Annotated[SubmissionContext, Depends(get_submission_context)]


async def get_bearer_token(
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str | None:
    """The token from ``Authorization: Bearer <token>``; None when absent or malformed, which
    the services answer with the same 404 as a wrong token."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


BearerToken = Annotated[str | None, Depends(get_bearer_token)]


def valid_idempotency_key(idempotency_key: str) -> bool:
    """16 to 255 visible ASCII characters."""
    return 16 <= len(idempotency_key) <= 255 and all(33 <= ord(c) <= 126 for c in idempotency_key)


async def get_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Any unique string (a UUID is ideal), 16 to 255 visible ASCII characters. "
            "A retry with the same key returns the first answer and stores nothing twice."
        ),
    ] = None,
) -> str | None:
    if idempotency_key is None:
        return None
    if not valid_idempotency_key(idempotency_key):
        raise InvalidInput(
            "The Idempotency-Key header is not valid.",
            [FieldProblem("Idempotency-Key", "must be 16 to 255 visible ASCII characters")],
        )
    return idempotency_key


IdempotencyKey = Annotated[str | None, Depends(get_idempotency_key)]
