"""Per-request decisions of the risk edge: how a path's body is read, which questionnaire and
which stored response a request is about, and the country and language of its notice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.types import Scope

from app.locale import accept_language_tags, country_from_accept_language
from app.web.security import SESSION_COOKIE, BrowserSession

BodyPolicy = Literal["screened", "streamed"]

_BATCH = re.compile(r"/api/v1/questionnaires/[^/]+/score/batch")
_QUESTIONNAIRE = re.compile(r"/api/v1/questionnaires/([^/]+)(?:/.*)?")
_RESPONSE = re.compile(r"/api/v1/responses/([^/]+)(?:/.*)?")
_NOT_PAGES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}")


def body_policy(path: str) -> BodyPolicy:
    """``streamed`` for the batch scoring route, which screens each row itself and reads its
    (larger) body as a stream; ``screened`` for everything else."""
    return "streamed" if _BATCH.fullmatch(path) else "screened"


_FHIR = re.compile(r"/api/v1/(?:fhir/.*|questionnaires/[^/]+/fhir|responses/[^/]+/fhir)")


def speaks_fhir(path: str) -> bool:
    """The FHIR routes answer every refusal as an OperationOutcome, the edge's included."""
    return _FHIR.fullmatch(path) is not None


def questionnaire_hint(path: str, document: object) -> str | None:
    """The questionnaire a request names, in its path or as ``questionnaire_id``."""
    match = _QUESTIONNAIRE.fullmatch(path)
    if match:
        return match.group(1)
    named = document.get("questionnaire_id") if isinstance(document, dict) else None
    return named if isinstance(named, str) else None


@dataclass(frozen=True, slots=True)
class ResponseReference:
    response_id: str
    token: str


def response_reference(scope: Scope) -> ResponseReference | None:
    """The stored response a request is about, with the token that must open it: the API's
    ``/responses/{id}`` with a Bearer token, or the web client's session cookie on a page.
    (Read from the ASGI scope itself: the edge runs for every request, and building the
    request's full URL for its path alone would cost more than the rest of this.)"""
    path: str = scope["path"]
    match = _RESPONSE.fullmatch(path)
    if match:
        scheme, _, token = _header(scope, b"authorization").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            return ResponseReference(match.group(1), token)
        return None
    if path.startswith(_NOT_PAGES):
        return None
    session = BrowserSession.parse(Request(scope).cookies.get(SESSION_COOKIE))
    return ResponseReference(session.response_id, session.token) if session else None


def _header(scope: Scope, name: bytes) -> str:
    """The first value of header ``name`` (lower case), as Starlette's ``Headers`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _text(document: object, name: str) -> str | None:
    value = document.get(name) if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def notice_country(
    request: Request, document: object, stored: str | None, default: str | None
) -> str | None:
    """An explicit, well-formed ``country`` (query, then body), then the response's stored
    country, then the Accept-Language region, then the default. A malformed one is ignored
    here: the handler refuses it, and the notice still goes with the refusal."""
    for explicit in (request.query_params.get("country"), _text(document, "country")):
        if explicit and _COUNTRY.fullmatch(explicit):
            return explicit.upper()
    header = country_from_accept_language(request.headers.get("accept-language"))
    return stored or header or default


def notice_language(request: Request, document: object, stored: str | None) -> str:
    for explicit in (request.query_params.get("lang"), _text(document, "lang")):
        if explicit and _LANGUAGE.fullmatch(explicit):
            return explicit.lower()
    if stored:
        return stored
    tags = accept_language_tags(request.headers.get("accept-language", ""))
    return tags[0][0] if tags else "en"
