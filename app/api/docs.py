"""Interactive API documentation served by the instance itself: Swagger UI at ``/docs`` and
ReDoc at ``/redoc``, both reading ``/openapi.json``.

Their scripts and styles are files shipped in the package (``docs_assets/``, see its
``SOURCES.md``), served under ``/docs/assets/``; nothing is loaded from another origin. Each
page sends its own Content-Security-Policy, which only ever names ``'self'``:

- ``/docs``: scripts and styles only from files of this origin (the start-up script is a
  file too, no inline script); ``img-src data:`` for the icons Swagger UI's stylesheet
  embeds as data URIs.
- ``/redoc``: ReDoc writes its styles into ``<style>`` elements at run time, so it needs
  ``style-src 'unsafe-inline'``, and runs its search index in a worker it creates from a
  ``blob:`` URL, so ``worker-src blob:``. Scripts are still only files of this origin.

``SECUREBASE_API_DOCS=false`` leaves both pages and their files out (404).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).resolve().parent / "docs_assets"
ASSETS_PREFIX = "/docs/assets"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"

_COMMON_CSP = [
    "default-src 'none'",
    "script-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
]
SWAGGER_CSP = "; ".join([*_COMMON_CSP, "style-src 'self'"])
REDOC_CSP = "; ".join([*_COMMON_CSP, "style-src 'self' 'unsafe-inline'", "worker-src blob:"])


def _headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }


@lru_cache(maxsize=16)
def _fingerprint(name: str) -> str:
    return hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest()[:12]


def asset_url(root_path: str, name: str) -> str:
    """An asset's address with a content-hash query, so a new release is never served from an
    old cache."""
    return f"{root_path}{ASSETS_PREFIX}/{name}?v={_fingerprint(name)}"


def _openapi_url(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    url = request.app.openapi_url or "/openapi.json"
    return f"{root}{url}"


_SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} - {kind}</title>
<link rel="icon" href="data:,">
{head}</head>
<body>
{body}</body>
</html>
"""
"""The page around each viewer; ``{{title}}`` and the asset placeholders are filled per
request."""

_SWAGGER_PAGE = _SHELL.format(
    kind="API documentation",
    head='<link rel="stylesheet" href="{css}">\n',
    body='<div id="swagger-ui" data-openapi-url="{openapi}"></div>\n'
    '<script src="{bundle}"></script>\n<script src="{init}"></script>\n',
)
_REDOC_PAGE = _SHELL.format(
    kind="API reference",
    head="",
    body='<redoc spec-url="{openapi}"></redoc>\n<script src="{bundle}"></script>\n',
)


router = APIRouter(include_in_schema=False)


def _page(request: Request, page: str, csp: str, **assets: str) -> HTMLResponse:
    """A documentation page, with the API's title, the document's URL and its assets' URLs."""
    root: str = request.scope.get("root_path", "")
    body = page.format(
        title=escape(request.app.title),
        openapi=escape(_openapi_url(request)),
        **{name: escape(asset_url(root, path)) for name, path in assets.items()},
    )
    return HTMLResponse(body, headers=_headers(csp))


@router.get(DOCS_PATH, response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every operation, with its schemas and examples, to read and try."""
    return _page(
        request,
        _SWAGGER_PAGE,
        SWAGGER_CSP,
        css="swagger_ui/swagger-ui.css",
        bundle="swagger_ui/swagger-ui-bundle.js",
        init="swagger-init.js",
    )


@router.get(REDOC_PATH, response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the same document as a readable reference."""
    return _page(request, _REDOC_PAGE, REDOC_CSP, bundle="redoc/redoc.standalone.js")


def install_api_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their files to the app."""
    app.include_router(router)
    app.mount(ASSETS_PREFIX, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")
