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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class CachePolicyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                media_type = next(
                    (value for name, value in headers if name.lower() == b"content-type"), b""
                )
                chosen = policy(
                    str(scope["method"]), str(scope["path"]), message["status"], media_type
                )
                if chosen is not None:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", chosen))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_policy)
