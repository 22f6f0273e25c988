"""The web client: server-rendered pages and the form and script endpoints behind them.

Every step works with plain form posts (Post/Redirect/Get); ``static/app.js`` adds autosave
and the instant crisis notice through ``POST /web/answers``. All reading and writing goes
through the same services as the JSON API (``app.services.responses``), with the session
token taken from an HttpOnly cookie instead of an Authorization header.

Safety first, as in the API: any request that carries answers is screened for risk on every
path, including a refused form or a lost session, and the crisis notice is shown with the
answer to it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import JsonValue
from starlette.datastructures import FormData

from app.deps import CatalogDep, ContextDep, LocaleDep, SettingsDep
from app.errors import Conflict, InvalidInput, NotFound, SecureBaseError
from app.locale import accept_language_tags
from app.schemas.responses import (
    Consent,
    CreateResponseRequest,
    ResponseView,
    SaveAnswersRequest,
)
from app.services import responses as responses_service
from app.services import studies
from app.services.locale import RequestLocale
from app.services.responses import ResponseContext
from app.services.screening import screen_body
from app.web import security
from app.web.pages import first_open_step
from app.web.rendering import page, render_fragment, translator
from app.web.security import BrowserSession
from app.web.strings import web_strings
from app.web.views import (
    Layout,
    layout,
    missing_dimensions,
    offered_questionnaire,
    results_page,
)
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER

router = APIRouter(include_in_schema=False)

ATTEMPT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,255}$")
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
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


# Helpers -------------------------------------------------------------------------------------


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _answers_from(form: FormData) -> dict[str, JsonValue]:
    """Form fields as answers: whole numbers become numbers; anything else is passed on as
    it came, so the service refuses it and the risk screening still reads it."""
    answers: dict[str, JsonValue] = {}
    for name, value in form.multi_items():
        if name in RESERVED_FIELDS or not isinstance(value, str):
            continue
        answers[name] = int(value) if ANSWER.fullmatch(value) else value
    return answers


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def _language(locale: RequestLocale, stored: str | None = None) -> str:
    return locale.language(web_strings().languages, stored)


def _screened(
    catalog: Catalog, answers: Mapping[str, object], locale: RequestLocale, language: str
) -> CrisisNotice | None:
    """The notice raw answers call for, whatever else is wrong with the request."""
    if not answers:
        return None
    return screen_body(
        catalog,
        {"answers": dict(answers)},
        path_questionnaire_id=None,
        country=locale.country(),
        language=language,
    )


def _current(
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


def _message(
    request: Request,
    language: str,
    *,
    title: str,
    paragraphs: tuple[str, ...],
    links: tuple[tuple[str, str], ...] = (),
    notice: CrisisNotice | None = None,
    status_code: int = 200,
    has_session: bool = False,
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
            "footer": None,
        },
        language=language,
        status_code=status_code,
    )


def _stronger(*notices: CrisisNotice | None) -> CrisisNotice | None:
    shown = [notice for notice in notices if notice is not None]
    return max(shown, key=lambda notice: CRISIS_LEVEL_ORDER[notice.level], default=None)


def _forbidden(
    request: Request, ctx: ResponseContext, locale: RequestLocale, answers: Mapping[str, object]
) -> Response:
    """A refused form: nothing is saved, but help is shown if the answers (or the answers
    saved before) call for it."""
    _session, view = _current(ctx, request, locale)
    language = _language(locale, view.language if view else None)
    t = translator(language)
    return _message(
        request,
        language,
        title=t("error.forbidden_title"),
        paragraphs=(t("error.forbidden_body"),),
        links=(("/", t("error.home")),),
        notice=_stronger(
            _screened(ctx.catalog, answers, locale, language), view.crisis if view else None
        ),
        status_code=403,
        has_session=view is not None,
    )


def _missing_session(
    request: Request, ctx: ResponseContext, locale: RequestLocale, answers: Mapping[str, object]
) -> Response:
    """The cookie opens nothing (deleted, expired, never set): say so, and still show help."""
    language = _language(locale)
    t = translator(language)
    response = _message(
        request,
        language,
        title=t("error.missing_title"),
        paragraphs=(t("landing.missing"),),
        links=(("/", t("landing.start")), ("/resume", t("site.footer_resume"))),
        notice=_screened(ctx.catalog, answers, locale, language),
        status_code=404,
    )
    security.forget_session(response)
    return response


def _not_found(request: Request, locale: RequestLocale, view: ResponseView | None) -> Response:
    language = _language(locale, view.language if view else None)
    t = translator(language)
    return _message(
        request,
        language,
        title=t("error.not_found_title"),
        paragraphs=(t("error.not_found_body"),),
        links=(("/", t("error.home")),),
        notice=view.crisis if view else None,
        status_code=404,
        has_session=view is not None,
    )


_NOT_PAGES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics")


def browser_error_page(request: Request, status_code: int) -> Response | None:
    """A page, not problem+json, for a browser that asks for an address that does not exist:
    with the way home and the help link every page has. Only for reading a page: a request that
    sends something keeps the problem+json answer, which carries the crisis notice its body
    calls for."""
    if status_code != 404 or request.method not in ("GET", "HEAD"):
        return None
    if request.url.path.startswith(_NOT_PAGES):
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None
    tags = accept_language_tags(request.headers.get("accept-language", ""))
    return _not_found(request, RequestLocale(header_languages=tuple(t for t, _ in tags)), None)


def _layout_of(ctx: ResponseContext, view: ResponseView) -> Layout:
    loaded = ctx.catalog.get(view.questionnaire.id)
    if loaded is None:  # read() refuses a response whose questionnaire is gone
        raise Conflict("The questionnaire is no longer offered.")
    return layout(loaded, view.language)


def _step_number(raw: str, pages: int) -> int | None:
    if not raw.isdigit() or len(raw) > 4:
        return None
    step = int(raw)
    return step if 1 <= step <= pages else None


def _resume_url(request: Request, ctx: ResponseContext, session: BrowserSession) -> str:
    base = ctx.settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}/resume?code={session.code}"


# Landing, start ------------------------------------------------------------------------------


@router.get("/")
def landing(
    request: Request,
    ctx: ContextDep,
    locale: LocaleDep,
    settings: SettingsDep,
    study: str | None = None,
    missing: str | None = None,
) -> Response:
    """What this is and is not, what is stored, consent, and the start button."""
    session, view = _current(ctx, request, locale)
    language = _language(locale, view.language if view else None)
    t = translator(language)
    shape = layout(offered_questionnaire(ctx.catalog), language)
    study_code = studies.enrolment_code_or_none(ctx.session, study)
    response = page(
        request,
        "landing.html",
        {
            "title": t("landing.title"),
            "questionnaire": shape.view,
            "required_pages": shape.required_pages,
            "item_count": len(shape.view.items),
            "wellbeing_count": len(shape.view.wellbeing_items),
            "retention_days": settings.incomplete_ttl_days,
            "study": study_code,
            "study_invalid": study is not None and study_code is None,
            "missing": missing is not None and view is None,
            "attempt": secrets.token_urlsafe(24),
            "view": view,
            "resume_step": first_open_step(_layout_of(ctx, view).pages, view.answers)
            if view is not None
            else 1,
            "notice": view.crisis if view else None,
            "has_session": view is not None,
        },
        language=language,
    )
    if session is not None and view is None:
        security.forget_session(response)
    return response


@router.post("/start")
def start(
    request: Request, form: FormDep, ctx: ContextDep, locale: LocaleDep, settings: SettingsDep
) -> Response:
    """Start a response with the consent given (unticked means no) and the study, if any."""
    if security.csrf_failure(request, _field(form, security.CSRF_FIELD)):
        return _forbidden(request, ctx, locale, {})
    study = _field(form, "study")
    attempt = _field(form, "attempt")
    created = responses_service.start(
        ctx,
        CreateResponseRequest(
            questionnaire_id=offered_questionnaire(ctx.catalog).definition.id,
            consent=Consent(research=_field(form, "research_consent") == "yes"),
            study=studies.enrolment_code_or_none(ctx.session, study),
        ),
        locale,
        attempt if attempt and ATTEMPT_KEY.fullmatch(attempt) else None,
    )
    response = _redirect("/questionnaire/1")
    security.remember_session(
        response, BrowserSession(created.response_id, created.token), settings.incomplete_ttl_days
    )
    security.flag_new_code(response)
    return response


# The questionnaire ---------------------------------------------------------------------------


@router.get("/questionnaire/{step}")
def questionnaire_page(
    step: str,
    request: Request,
    ctx: ContextDep,
    locale: LocaleDep,
    missing: str | None = None,
) -> Response:
    """One page of items, with progress, the notice when risk was indicated, back and next."""
    session, view = _current(ctx, request, locale)
    if session is None or view is None:
        return _missing_session(request, ctx, locale, {})
    if view.status == "submitted":
        return _redirect("/results")
    shape = _layout_of(ctx, view)
    number = _step_number(step, len(shape.pages))
    if number is None:
        return _not_found(request, locale, view)
    current = shape.page(number)
    assert current is not None
    language = _language(locale, view.language)
    show_code = security.has_new_code_flag(request)
    show_missing = missing is not None and not view.progress.ready_to_submit
    response = page(
        request,
        "questionnaire.html",
        {
            "title": current.section.title,
            "page": current,
            "steps": len(shape.pages),
            "last": number == len(shape.pages),
            "answers": view.answers,
            "progress": view.progress,
            "notice": view.crisis,
            "has_session": True,
            "resume_url": _resume_url(request, ctx, session) if show_code else None,
            "resume_code": session.code if show_code else None,
            "missing": missing_dimensions(shape, view.answers) if show_missing else (),
            "unanswered": current.unanswered(view.answers) if show_missing else (),
        },
        language=language,
    )
    if show_code:
        security.clear_new_code_flag(response)
    return response


@router.post("/questionnaire/{step}")
def save_page(
    step: str, request: Request, form: FormDep, ctx: ContextDep, locale: LocaleDep
) -> Response:
    """Save this page's answers, then go back, forward, or (on the last page) to results."""
    answers = _answers_from(form)
    if security.csrf_failure(request, _field(form, security.CSRF_FIELD)):
        return _forbidden(request, ctx, locale, answers)
    session = security.session_of(request)
    if session is None:
        return _missing_session(request, ctx, locale, answers)
    number = int(step) if step.isdigit() and len(step) <= 4 else 1
    action = _field(form, "action") or "next"
    try:
        if answers:
            responses_service.save_answers(
                ctx, session.response_id, session.token, SaveAnswersRequest(answers=answers), locale
            )
    except NotFound:
        ctx.session.rollback()
        return _missing_session(request, ctx, locale, answers)
    except Conflict:
        ctx.session.rollback()
        return _redirect("/results")
    except InvalidInput:
        ctx.session.rollback()
        _session, view = _current(ctx, request, locale)
        language = _language(locale, view.language if view else None)
        t = translator(language)
        return _message(
            request,
            language,
            title=t("error.title"),
            paragraphs=(t("questionnaire.invalid"),),
            links=((f"/questionnaire/{number}", t("questionnaire.back")),),
            notice=_stronger(
                _screened(ctx.catalog, answers, locale, language), view.crisis if view else None
            ),
            status_code=422,
            has_session=True,
        )
    if action == "back":
        return _redirect(f"/questionnaire/{max(number - 1, 1)}")
    if action != "finish":
        return _redirect(f"/questionnaire/{number + 1}")
    try:
        responses_service.submit(ctx, session.response_id, session.token, locale)
    except InvalidInput:
        # Too few answers for a score: back to the first page that still has open items.
        ctx.session.rollback()
        view = responses_service.read(ctx, session.response_id, session.token, locale)
        open_step = first_open_step(_layout_of(ctx, view).pages, view.answers)
        return _redirect(f"/questionnaire/{open_step}?missing=1")
    except Conflict:
        ctx.session.rollback()
    return _redirect("/results")


@router.post("/web/answers")
def autosave(request: Request, body: JsonDep, ctx: ContextDep, locale: LocaleDep) -> Response:
    """For the script: save answers as they are chosen and return the notice they call for."""
    raw = body.get("answers") if isinstance(body, dict) else None
    answers: dict[str, JsonValue] = (
        {str(item): value for item, value in raw.items()} if isinstance(raw, dict) else {}
    )
    language = _language(locale)

    def reply(status_code: int, notice: CrisisNotice | None, **extra: object) -> JSONResponse:
        t = translator(language)
        return JSONResponse(
            {
                "saved": status_code == 200,
                "level": notice.level if notice else None,
                "rank": CRISIS_LEVEL_ORDER[notice.level] if notice else 0,
                "notice_html": render_fragment("_notice.html", {"notice": notice, "t": t})
                if notice
                else None,
                **extra,
            },
            status_code=status_code,
            headers=NO_STORE,
        )

    if security.csrf_failure(request, request.headers.get(security.CSRF_HEADER)):
        return reply(403, _screened(ctx.catalog, answers, locale, language))
    session = security.session_of(request)
    if session is None:
        return reply(404, _screened(ctx.catalog, answers, locale, language))
    try:
        saved = responses_service.save_answers(
            ctx, session.response_id, session.token, SaveAnswersRequest(answers=answers), locale
        )
    except SecureBaseError as exc:
        ctx.session.rollback()
        return reply(exc.status_code, _screened(ctx.catalog, answers, locale, language))
    return reply(200, saved.crisis, answered=saved.progress.answered, of=saved.progress.of)


# Results -------------------------------------------------------------------------------------


@router.get("/results")
def results(request: Request, ctx: ContextDep, locale: LocaleDep) -> Response:
    """The picture, the tendencies in words, the psychoeducation, help, print and delete."""
    session, view = _current(ctx, request, locale)
    if session is None or view is None:
        return _missing_session(request, ctx, locale, {})
    shape = _layout_of(ctx, view)
    if view.status != "submitted" or view.result is None:
        return _redirect(f"/questionnaire/{first_open_step(shape.pages, view.answers)}")
    language = _language(locale, view.language)
    t = translator(language)
    return page(
        request,
        "results.html",
        {
            "title": t("results.title"),
            "report": results_page(ctx.catalog, shape, view, t),
            "notice": view.crisis,
            "has_session": True,
        },
        language=language,
    )


# Help ----------------------------------------------------------------------------------------


@router.get("/help")
def help_page(
    request: Request,
    ctx: ContextDep,
    catalog: CatalogDep,
    locale: LocaleDep,
    country: str | None = None,
) -> Response:
    """Who to contact, for the chosen country; reachable from every page, no questions asked."""
    _session, view = _current(ctx, request, locale)
    language = _language(locale, view.language if view else None)
    t = translator(language)
    chosen = country.upper() if country and COUNTRY.fullmatch(country) else None
    resolved = chosen or (view.country if view else None) or locale.country()
    footer = catalog.crisis.help(resolved, language)
    return page(
        request,
        "help.html",
        {
            "title": t("help.title"),
            "message": footer.message,
            "resources": catalog.crisis.resources_for("urgent", resolved),
            "country": resolved if catalog.crisis.knows(resolved) else "",
            "countries": sorted(
                ((code, entry.name) for code, entry in catalog.crisis.countries.items()),
                key=lambda pair: pair[1],
            ),
            "notice": view.crisis if view else None,
            "has_session": view is not None,
        },
        language=language,
    )


# Resume --------------------------------------------------------------------------------------


def _resume_page(
    request: Request,
    ctx: ContextDep,
    locale: RequestLocale,
    code: str | None,
    *,
    status_code: int = 200,
) -> Response:
    _session, current = _current(ctx, request, locale)
    language = _language(locale, current.language if current else None)
    t = translator(language)
    found: ResponseView | None = None
    not_found = False
    if code is not None:
        candidate = BrowserSession.parse(code)
        try:
            if candidate is None:
                raise NotFound(responses_service.NOT_FOUND)
            found = responses_service.read(ctx, candidate.response_id, candidate.token, locale)
        except (NotFound, Conflict):
            not_found = True
    return page(
        request,
        "resume.html",
        {
            "title": t("resume.title"),
            "code": code or "",
            "found": found,
            "not_found": not_found,
            "notice": (found.crisis if found else None) or (current.crisis if current else None),
            "has_session": current is not None,
        },
        language=language,
        status_code=404 if not_found else status_code,
    )


@router.get("/resume")
def resume_form(
    request: Request, ctx: ContextDep, locale: LocaleDep, code: str | None = None
) -> Response:
    """Check a resume code or link and say what it opens (reading only)."""
    return _resume_page(request, ctx, locale, code)


@router.post("/resume")
def resume(
    request: Request, form: FormDep, ctx: ContextDep, locale: LocaleDep, settings: SettingsDep
) -> Response:
    """Open the response a code belongs to in this browser, then carry on where it stopped."""
    if security.csrf_failure(request, _field(form, security.CSRF_FIELD)):
        return _forbidden(request, ctx, locale, {})
    code = _field(form, "code") or ""
    candidate = BrowserSession.parse(code)
    view: ResponseView | None = None
    if candidate is not None:
        try:
            view = responses_service.read(ctx, candidate.response_id, candidate.token, locale)
        except (NotFound, Conflict):
            view = None
    if candidate is None or view is None:
        return _resume_page(request, ctx, locale, code)
    if view.status == "submitted":
        response = _redirect("/results")
    else:
        step = first_open_step(_layout_of(ctx, view).pages, view.answers)
        response = _redirect(f"/questionnaire/{step}")
    security.remember_session(response, candidate, settings.incomplete_ttl_days)
    return response


# Delete --------------------------------------------------------------------------------------


@router.get("/delete")
def delete_form(request: Request, ctx: ContextDep, locale: LocaleDep) -> Response:
    """Ask before erasing."""
    _session, view = _current(ctx, request, locale)
    language = _language(locale, view.language if view else None)
    t = translator(language)
    if view is None:
        return _message(
            request,
            language,
            title=t("delete.title"),
            paragraphs=(t("delete.none"),),
            links=(("/", t("delete.start")),),
        )
    back = (
        "/results"
        if view.status == "submitted"
        else f"/questionnaire/{first_open_step(_layout_of(ctx, view).pages, view.answers)}"
    )
    return page(
        request,
        "delete.html",
        {"title": t("delete.title"), "back_url": back, "notice": view.crisis, "has_session": True},
        language=language,
    )


@router.post("/delete")
def delete(request: Request, form: FormDep, ctx: ContextDep, locale: LocaleDep) -> Response:
    """Erase the response and forget it in this browser."""
    if security.csrf_failure(request, _field(form, security.CSRF_FIELD)):
        return _forbidden(request, ctx, locale, {})
    session = security.session_of(request)
    if session is not None:
        try:
            responses_service.erase(ctx, session.response_id, session.token)
        except NotFound:
            ctx.session.rollback()
    response = _redirect("/deleted")
    security.forget_session(response)
    return response


@router.get("/deleted")
def deleted(request: Request, catalog: CatalogDep, locale: LocaleDep) -> Response:
    """Confirmation, with help close at hand."""
    language = _language(locale)
    t = translator(language)
    footer = catalog.crisis.help(locale.country(), language)
    return page(
        request,
        "message.html",
        {
            "title": t("delete.done_title"),
            "paragraphs": (t("delete.done_body"),),
            "links": (("/", t("delete.start")),),
            "footer": footer,
        },
        language=language,
    )
