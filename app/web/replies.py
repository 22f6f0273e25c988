"""What the web pages share: reading the form, the browser's response, and the pages for
a refused form, a lost session or an address that does not exist. Each of them still shows the
crisis notice the answers sent (or saved before) call for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import JsonValue
from starlette.datastructures import FormData

from app.errors import Conflict, NotFound
from app.locale import accept_language_tags, country_from_accept_language
from app.schemas.responses import ResponseView
from app.services import responses as responses_service
from app.services.locale import RequestLocale
from app.services.notices import counted_in
from app.services.responses import ResponseContext
from app.services.screening import screen_body
from app.web import security
from app.web.offer import QUESTIONNAIRE_FIELD, has_choice
from app.web.pages import first_open_step
from app.web.rendering import notice_fragment, page, translator
from app.web.security import BrowserSession
from app.web.strings import web_strings
from app.web.views import Layout, layout, short_step
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice, HelpFooter
from scoring.definition import CRISIS_LEVEL_ORDER

ANSWER = re.compile(r"^-?[0-9]{1,6}$")
RESERVED_FIELDS = frozenset({security.CSRF_FIELD, "action"})
NO_STORE = {"Cache-Control": "no-store"}


async def _form(request: Request) -> FormData:
    return await request.form()


async def _json(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:
        return None


FormDep = Annotated[FormData, Depends(_form)]
JsonDep = Annotated[object, Depends(_json)]


def field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def answers_from(form: FormData) -> dict[str, JsonValue]:
    """Form fields as answers: whole numbers become numbers; anything else is passed on as
    it came, so the service refuses it and the risk screening still reads it."""
    answers: dict[str, JsonValue] = {}
    for name, value in form.multi_items():
        if name in RESERVED_FIELDS or not isinstance(value, str):
            continue
        answers[name] = int(value) if ANSWER.fullmatch(value) else value
    return answers


def answers_of_json(body: object) -> dict[str, JsonValue]:
    """The ``answers`` object of a script's JSON body; anything else is no answers."""
    raw = body.get("answers") if isinstance(body, dict) else None
    return {str(item): value for item, value in raw.items()} if isinstance(raw, dict) else {}


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def language_of(locale: RequestLocale, stored: str | None = None) -> str:
    return locale.language(web_strings().languages, stored)


def screened(
    catalog: Catalog, answers: Mapping[str, object], locale: RequestLocale, language: str
) -> CrisisNotice | None:
    """The notice raw answers call for, whatever else is wrong with the request (by every
    questionnaire's risk rules: the strongest any of them reads in the answers)."""
    if not answers:
        return None
    return screen_body(
        catalog,
        {"answers": dict(answers)},
        path_questionnaire_id=None,
        country=locale.country(),
        language=language,
    )


def browser_response(
    ctx: ResponseContext, request: Request, locale: RequestLocale
) -> tuple[BrowserSession | None, ResponseView | None]:
    """The browser's response, if its cookie still opens one."""
    session = security.session_of(request)
    if session is None:
        return None, None
    try:
        return session, responses_service.read(ctx, session.response_id, session.token, locale)
    except (NotFound, Conflict):
        return session, None


def message_page(
    request: Request,
    language: str,
    *,
    title: str,
    paragraphs: tuple[str, ...],
    links: tuple[tuple[str, str], ...] = (),
    notice: CrisisNotice | None = None,
    status_code: int = 200,
    has_session: bool = False,
    footer: HelpFooter | None = None,
) -> Response:
    return page(
        request,
        "message.html",
        {
            "title": title,
            "paragraphs": paragraphs,
            "links": links,
            "notice": notice,
            "has_session": has_session,
            "footer": footer,
        },
        language=language,
        status_code=status_code,
    )


def short_page(
    request: Request,
    locale: RequestLocale,
    view: ResponseView | None,
    words: tuple[str, str],
    *,
    status_code: int,
    notice: CrisisNotice | None = None,
    footer: HelpFooter | None = None,
) -> Response:
    """A page of one heading and one paragraph (``words`` are their string keys) with the way
    back to the start; its notice is the one given, else the response's own."""
    language = language_of(locale, view.language if view else None)
    t = translator(language)
    return message_page(
        request,
        language,
        title=t(words[0]),
        paragraphs=(t(words[1]),),
        links=(("/", t("error.home")),),
        notice=notice or (view.crisis if view else None),
        status_code=status_code,
        has_session=view is not None,
        footer=footer,
    )


def stronger(*notices: CrisisNotice | None) -> CrisisNotice | None:
    shown = [notice for notice in notices if notice is not None]
    return max(shown, key=lambda notice: CRISIS_LEVEL_ORDER[notice.level], default=None)


def forbidden(
    request: Request, ctx: ResponseContext, locale: RequestLocale, answers: Mapping[str, object]
) -> Response:
    """A refused form: nothing is saved, but help is shown if the answers (or the answers
    saved before) call for it."""
    _session, view = browser_response(ctx, request, locale)
    language = language_of(locale, view.language if view else None)
    return short_page(
        request,
        locale,
        view,
        ("error.forbidden_title", "error.forbidden_body"),
        status_code=403,
        notice=stronger(
            screened(ctx.catalog, answers, locale, language), view.crisis if view else None
        ),
    )


def refused_answers(
    request: Request,
    ctx: ResponseContext,
    locale: RequestLocale,
    answers: Mapping[str, object],
    view: ResponseView,
    step: int,
) -> Response:
    """Answers that are not valid: nothing from the form was saved; the notice they (or the
    answers saved before) call for is shown all the same."""
    language = language_of(locale, view.language)
    t = translator(language)
    return message_page(
        request,
        language,
        title=t("error.title"),
        paragraphs=(t("questionnaire.invalid"),),
        links=((f"/questionnaire/{step}", t("questionnaire.back")),),
        notice=stronger(screened(ctx.catalog, answers, locale, language), view.crisis),
        status_code=422,
        has_session=True,
    )


def missing_session(
    request: Request, ctx: ResponseContext, locale: RequestLocale, answers: Mapping[str, object]
) -> Response:
    """The cookie opens nothing (deleted, expired, never set): say so, and still show help."""
    language = language_of(locale)
    t = translator(language)
    response = message_page(
        request,
        language,
        title=t("error.missing_title"),
        paragraphs=(t("landing.missing"),),
        links=(("/", t("landing.start")), ("/resume", t("site.footer_resume"))),
        notice=screened(ctx.catalog, answers, locale, language),
        status_code=404,
    )
    security.forget_session(response)
    return response


def not_found(request: Request, locale: RequestLocale, view: ResponseView | None) -> Response:
    return short_page(
        request, locale, view, ("error.not_found_title", "error.not_found_body"), status_code=404
    )


def not_offered(
    request: Request, locale: RequestLocale, view: ResponseView | None, status_code: int
) -> Response:
    """A link or form that names a questionnaire the service does not offer."""
    return short_page(
        request,
        locale,
        view,
        ("landing.not_offered_title", "landing.not_offered_body"),
        status_code=status_code,
    )


_NOT_PAGES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics")
AUTOSAVE_PATH = "/web/answers"


def browser_error_page(request: Request, status_code: int) -> Response | None:
    """A page, not problem+json, for a browser that asks for an address that does not exist:
    with the way home and the help link every page has. Only for reading a page: a request that
    sends something keeps the problem+json answer, which carries the crisis notice its body
    calls for. A page (or the script) the database could not serve gets :func:`unavailable`."""
    if request.url.path.startswith(_NOT_PAGES):
        return None
    if status_code == 503:
        return unavailable(request)
    if status_code != 404 or request.method not in ("GET", "HEAD"):
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None
    tags = accept_language_tags(request.headers.get("accept-language", ""))
    return not_found(request, RequestLocale(header_languages=tuple(t for t, _ in tags)), None)


def unavailable(request: Request) -> Response:
    """The database could not be reached: nothing was saved. The page says so, with the notice
    the answers sent call for (the risk edge read them before routing), the help link and the
    contacts themselves, since the help page may need the database too; the script gets its
    usual reply, so that it still shows the notice."""
    catalog: Catalog = request.app.state.catalog
    state = request.scope.get("state", {})
    notice: CrisisNotice | None = counted_in(state, state.get("crisis_notice"))
    header = request.headers.get("accept-language", "")
    locale = RequestLocale(
        header_country=country_from_accept_language(header),
        default_country=request.app.state.settings.default_country,
        header_languages=tuple(tag for tag, _ in accept_language_tags(header)),
    )
    for country in security.countries_asked(request):
        if catalog.crisis.knows(country):
            locale = locale.with_explicit(country, None)
            break
    language = language_of(locale)
    if request.url.path == AUTOSAVE_PATH:
        return autosave_reply(request, catalog, language, 503, notice)
    t = translator(language)
    return message_page(
        request,
        language,
        title=t("error.unavailable_title"),
        paragraphs=(t("error.unavailable_body"),),
        links=(("/help", t("site.help_link")), ("/", t("error.home"))),
        notice=notice,
        status_code=503,
        footer=catalog.crisis.help(locale.country(), language),
    )


def layout_of(ctx: ResponseContext, view: ResponseView) -> Layout:
    loaded = ctx.catalog.get(view.questionnaire.id)
    if loaded is None:  # read() refuses a response whose questionnaire is gone
        raise Conflict("The questionnaire is no longer offered.")
    return layout(loaded, view.language)


def step_number(raw: str, pages: int) -> int | None:
    if not raw.isdigit() or len(raw) > 4:
        return None
    step = int(raw)
    return step if 1 <= step <= pages else None


def resume_url(
    request: Request, ctx: ResponseContext, session: BrowserSession, view: ResponseView
) -> str:
    """The resume link. Where there is a choice of questionnaires it names the response's, so
    that even once the answers are gone the link leads back to the same questionnaire."""
    base = ctx.settings.public_url or str(request.base_url).rstrip("/")
    query = {"code": session.code}
    if has_choice(ctx.catalog):
        query[QUESTIONNAIRE_FIELD] = view.questionnaire.id
    return f"{base}/resume?{urlencode(query)}"


def carry_on_url(ctx: ResponseContext, view: ResponseView) -> str:
    """Where this response carries on: its results, or its first page with open statements."""
    if view.status == "submitted":
        return "/results"
    return f"/questionnaire/{first_open_step(layout_of(ctx, view).pages, view.answers)}"


def missing_url(ctx: ResponseContext, view: ResponseView) -> str:
    """Where a finish refused for too few answers leads, ``?missing=1`` added: answered per
    relationship, the first page open on a dimension that stops it (never a relationship left
    out, which stops nothing); otherwise the first page with open statements."""
    shape = layout_of(ctx, view)
    step = short_step(shape, view.answers) if shape.definition.targets else None
    where = f"/questionnaire/{step}" if step is not None else carry_on_url(ctx, view)
    return f"{where}?missing=1"


def autosave_reply(
    request: Request,
    catalog: Catalog,
    language: str,
    status_code: int,
    notice: CrisisNotice | None,
    **extra: object,
) -> Response:
    """The script's answer: saved or not, the notice (as HTML to insert) and, when saved, the
    progress to show."""
    t = translator(language)
    response = JSONResponse(
        {
            "saved": status_code == 200,
            "level": notice.level if notice else None,
            "rank": CRISIS_LEVEL_ORDER[notice.level] if notice else 0,
            "notice_html": notice_fragment(catalog, notice, t) if notice else None,
            **extra,
        },
        status_code=status_code,
        headers=NO_STORE,
    )
    # The script shows this notice in full on the page it is on; later pages repeat it compact.
    if notice is not None:
        seen = security.notice_seen_rank(request)
        security.mark_notice_seen(response, max(seen, CRISIS_LEVEL_ORDER[notice.level]))
    return response
