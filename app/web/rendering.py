"""Templates, static files and the page response.

Jinja2 autoescapes every value, so whatever comes from a request or a data file is shown as
text. Nothing is marked safe. Static files get a content-hash query so a new release is never
served from an old cache. Every page response carries its own security headers
(:data:`app.web.security.PAGE_HEADERS`), which the app-wide middleware then leaves alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from app.web import notice as notice_display
from app.web.contacts import contact_link
from app.web.security import (
    PAGE_HEADERS,
    csrf_token,
    issue_csrf_cookie,
    mark_notice_seen,
    notice_seen_rank,
    remember_country,
)
from app.web.strings import Translator, web_strings
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER

if TYPE_CHECKING:
    from jinja2 import Environment

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Built, and Jinja2 imported, by the first page: the service starts without them, as the
    API's requests never render a template (the first page compiles its templates anyway)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(
        static=static_url,
        contact_link=contact_link,
        crisis_rank=CRISIS_LEVEL_ORDER,
    )
    return env


@lru_cache(maxsize=64)
def _fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}/{name}?v={_fingerprint(name)}"


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def translator(language: str) -> Translator:
    return Translator(web_strings(), language)


def render_fragment(template: str, context: Mapping[str, object]) -> str:
    return environment().get_template(template).render(context)


def notice_fragment(catalog: Catalog, notice: CrisisNotice, t: Translator) -> str:
    """The full notice on its own, for the script to put on the page it is on."""
    return render_fragment(
        "_notice.html",
        {"notice": notice, "t": t, "notice_shown": notice_display.shown(catalog, notice, t)},
    )


def page(
    request: Request,
    template: str,
    context: Mapping[str, object],
    *,
    language: str,
    status_code: int = 200,
    notice_in_full: bool = False,
) -> HTMLResponse:
    """A full page with its CSRF token (issued as a cookie when the browser has none yet).

    The crisis notice in ``context`` is shown in full the first time its level appears in this
    browser (or always, with ``notice_in_full``), then compact; see :mod:`app.web.notice`."""
    token, is_new = csrf_token(request)
    t = translator(language)
    catalog: Catalog = request.app.state.catalog
    notice = context.get("notice")
    seen = notice_seen_rank(request)
    # Choosing a country in the notice redraws it, so that answer shows it in full.
    redraw = "country" in request.query_params
    full = isinstance(notice, CrisisNotice) and notice_display.in_full(
        notice, seen, always=notice_in_full or redraw
    )
    body = render_fragment(
        template,
        {
            "lang": t.language,
            "t": t,
            "csrf_token": token,
            "notice": None,
            "has_session": False,
            **context,
            "notice_shown": notice_display.shown(catalog, notice, t, compact=not full)
            if isinstance(notice, CrisisNotice)
            else None,
        },
    )
    response = HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)
    if is_new:
        issue_csrf_cookie(response, token)
    if full and isinstance(notice, CrisisNotice):
        mark_notice_seen(response, max(seen, CRISIS_LEVEL_ORDER[notice.level]))
    asked = request.query_params.get("country", "").upper()
    if asked and catalog.crisis.knows(asked):
        remember_country(response, asked)
    return response
