"""Which responses a cache may keep: only public reads that carry nothing about anyone.

Every response under ``/api/`` carries answers, results, crisis notices, tokens or research
exports, or may (a problem body echoes what was sent and can hold a notice), so each is
``Cache-Control: no-store``, whatever the route set, with these exceptions, which are the
same for everyone and may be kept and revalidated (``public, no-cache``; the questionnaire
has an ``ETag``): a successful ``GET`` of the questionnaires, one questionnaire, or the crisis
resources, and the static files of the web client. A problem body is ``no-store`` wherever it
is sent. Anything else that sets no policy of its own gets ``no-store`` from the security
headers (:mod:`app.headers`), so a new route is private until it is listed here.
"""

from __future__ import annotations

import re

from starlette.types import Message, Scope

from app.response_start import content_type, with_header

NO_STORE = b"no-store"
REVALIDATE = b"public, no-cache"
_PUBLIC_READS = re.compile(r"/api/v1/(questionnaires(/[^/]+)?|crisis-resources)/?")
_STATIC = re.compile(r"/static/.+")


def policy(method: str, path: str, status: int, media_type: bytes) -> bytes | None:
    """The Cache-Control a response gets; None: leave the response's own (or none)."""
    if media_type.split(b";")[0].strip().lower() == b"application/problem+json":
        return NO_STORE
    public = _PUBLIC_READS.fullmatch(path) or _STATIC.fullmatch(path)
    if method in {"GET", "HEAD"} and status < 400 and public:
        return REVALIDATE
    if path.startswith("/api/"):
        return NO_STORE
    return None


def cache_policy(scope: Scope, start: Message) -> Message:
    """The response's start with the Cache-Control :func:`policy` chooses (a ``StartEdit``)."""
    chosen = policy(str(scope["method"]), str(scope["path"]), start["status"], content_type(start))
    return start if chosen is None else with_header(start, b"cache-control", chosen)
