"""Templates, static files and the page response.

Jinja2 autoescapes every value, so whatever comes from a request or a data file is shown as
text. Nothing is marked safe. Static files get a content-hash query so a new release is never
served from an old cache. Every page response carries its own security headers
(:data:`app.web.security.PAGE_HEADERS`), which the app-wide middleware then leaves alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from app.web.security import PAGE_HEADERS, csrf_token, issue_csrf_cookie
from app.web.strings import Translator, web_strings
from scoring.crisis import Contact
from scoring.definition import CRISIS_LEVEL_ORDER

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static"

_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{1,30}$")


@dataclass(frozen=True, slots=True)
class ContactLink:
    label: str
    href: str | None
    note: str | None


def contact_link(contact: Contact, t: Translator) -> ContactLink:
    """A contact as a link the phone or browser can act on, or plain text when it is not one
    (for example "your local emergency number"). Only safe schemes are ever produced."""
    value = contact.value.strip()
    href: str | None = None
    digits = re.sub(r"[ ()-]", "", value)
    if contact.channel in {"call", "text"} and _PHONE.fullmatch(value):
        href = ("tel:" if contact.channel == "call" else "sms:") + digits
    elif contact.channel in {"chat", "web"} and value.startswith("https://"):
        href = value
    elif contact.channel == "email" and re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", value):
        href = f"mailto:{value}"
    label = t(f"resources.channel.{contact.channel}", value=value.removeprefix("https://"))
    return ContactLink(label, href, contact.note)


@lru_cache(maxsize=1)
def environment() -> Environment:
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


def page(
    request: Request,
    template: str,
    context: Mapping[str, object],
    *,
    language: str,
    status_code: int = 200,
) -> HTMLResponse:
    """A full page with its CSRF token (issued as a cookie when the browser has none yet)."""
    token, is_new = csrf_token(request)
    t = translator(language)
    body = render_fragment(
        template,
        {
            "lang": t.language,
            "t": t,
            "csrf_token": token,
            "notice": None,
            "has_session": False,
            **context,
        },
    )
    response = HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)
    if is_new:
        issue_csrf_cookie(response, token)
    return response
