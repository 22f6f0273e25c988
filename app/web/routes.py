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
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import JsonValue
from starlette.datastructures import FormData

from app.deps import CatalogDep, ContextDep, SettingsDep
from app.errors import Conflict, NotFound, SecureBaseError
from app.schemas.responses import (
    Consent,
    CreateResponseRequest,
    ResponseView,
    SaveAnswersRequest,
)
from app.services import responses as responses_service
from app.services import studies, web_flow
from app.services.locale import RequestLocale
from app.web import security
from app.web.locale import WebLocaleDep
from app.web.notice import countries as crisis_countries
from app.web.notice import emergency_action
from app.web.pages import first_open_step
from app.web.rendering import notice_fragment, page, translator
from app.web.replies import (
    NO_STORE,
    answers_from,
    browser_response,
    field,
    forbidden,
    language_of,
    layout_of,
    message_page,
    missing_session,
    not_found,
    redirect,
    resume_url,
    screened,
    step_number,
    stronger,
)
from app.web.replies import browser_error_page as browser_error_page
from app.web.security import BrowserSession
from app.web.views import (
    layout,
    missing_dimensions,
    offered_questionnaire,
    results_page,
)
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER

router = APIRouter(include_in_schema=False)

ATTEMPT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,255}$")


async def _form(request: Request) -> FormData:
    return await request.form()


async def _json(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:
        return None


FormDep = Annotated[FormData, Depends(_form)]
JsonDep = Annotated[object, Depends(_json)]


# Landing, start ------------------------------------------------------------------------------


@router.get("/")
def landing(
    request: Request,
    ctx: ContextDep,
    locale: WebLocaleDep,
    settings: SettingsDep,
    study: str | None = None,
    missing: str | None = None,
) -> Response:
    """What this is and is not, what is stored, consent, and the start button."""
    session, view = browser_response(ctx, request, locale)
    language = language_of(locale, view.language if view else None)
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
            "resume_step": first_open_step(layout_of(ctx, view).pages, view.answers)
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
    request: Request, form: FormDep, ctx: ContextDep, locale: WebLocaleDep, settings: SettingsDep
) -> Response:
    """Start a response with the consent given (unticked means no) and the study, if any."""
    if security.csrf_failure(request, field(form, security.CSRF_FIELD)):
        return forbidden(request, ctx, locale, {})
    study = field(form, "study")
    attempt = field(form, "attempt")
    created = responses_service.start(
        ctx,
        CreateResponseRequest(
            questionnaire_id=offered_questionnaire(ctx.catalog).definition.id,
            consent=Consent(research=field(form, "research_consent") == "yes"),
            study=studies.enrolment_code_or_none(ctx.session, study),
        ),
        locale,
        attempt if attempt and ATTEMPT_KEY.fullmatch(attempt) else None,
    )
    response = redirect("/questionnaire/1")
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
    locale: WebLocaleDep,
    missing: str | None = None,
) -> Response:
    """One page of items, with progress, the notice when risk was indicated, back and next."""
    session, view = browser_response(ctx, request, locale)
    if session is None or view is None:
        return missing_session(request, ctx, locale, {})
    if view.status == "submitted":
        return redirect("/results")
    shape = layout_of(ctx, view)
    number = step_number(step, len(shape.pages))
    if number is None:
        return not_found(request, locale, view)
    current = shape.page(number)
    assert current is not None
    language = language_of(locale, view.language)
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
            "resume_url": resume_url(request, ctx, session) if show_code else None,
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
    step: str, request: Request, form: FormDep, ctx: ContextDep, locale: WebLocaleDep
) -> Response:
    """Save this page's answers, then go back, forward, or (on the last page) to results."""
    answers = answers_from(form)
    if security.csrf_failure(request, field(form, security.CSRF_FIELD)):
        return forbidden(request, ctx, locale, answers)
    session = security.session_of(request)
    if session is None:
        return missing_session(request, ctx, locale, answers)
    number = int(step) if step.isdigit() and len(step) <= 4 else 1
    outcome = web_flow.save_page(
        ctx,
        session.response_id,
        session.token,
        number,
        answers,
        web_flow.move_of(field(form, "action")),
        locale,
    )
    if isinstance(outcome, web_flow.Moved):
        return redirect(f"/questionnaire/{outcome.step}")
    if isinstance(outcome, web_flow.Finished):
        return redirect("/results")
    if isinstance(outcome, web_flow.Lost):
        return missing_session(request, ctx, locale, answers)
    _session, view = browser_response(ctx, request, locale)
    if view is None:  # erased or expired between the save and now
        return missing_session(request, ctx, locale, answers)
    if isinstance(outcome, web_flow.Incomplete):
        open_step = first_open_step(layout_of(ctx, view).pages, view.answers)
        return redirect(f"/questionnaire/{open_step}?missing=1")
    language = language_of(locale, view.language)
    t = translator(language)
    return message_page(
        request,
        language,
        title=t("error.title"),
        paragraphs=(t("questionnaire.invalid"),),
        links=((f"/questionnaire/{number}", t("questionnaire.back")),),
        notice=stronger(screened(ctx.catalog, answers, locale, language), view.crisis),
        status_code=422,
        has_session=True,
    )


@router.post("/web/answers")
def autosave(request: Request, body: JsonDep, ctx: ContextDep, locale: WebLocaleDep) -> Response:
    """For the script: save answers as they are chosen and return the notice they call for."""
    raw = body.get("answers") if isinstance(body, dict) else None
    answers: dict[str, JsonValue] = (
        {str(item): value for item, value in raw.items()} if isinstance(raw, dict) else {}
    )
    language = language_of(locale)

    def reply(status_code: int, notice: CrisisNotice | None, **extra: object) -> JSONResponse:
        t = translator(language)
        response = JSONResponse(
            {
                "saved": status_code == 200,
                "level": notice.level if notice else None,
                "rank": CRISIS_LEVEL_ORDER[notice.level] if notice else 0,
                "notice_html": notice_fragment(ctx.catalog, notice, t) if notice else None,
                **extra,
            },
            status_code=status_code,
            headers=NO_STORE,
        )
        # The script shows this notice in full on the page it is on; later pages repeat it
        # compact.
        if notice is not None:
            seen = security.notice_seen_rank(request)
            security.mark_notice_seen(response, max(seen, CRISIS_LEVEL_ORDER[notice.level]))
        return response

    if security.csrf_failure(request, request.headers.get(security.CSRF_HEADER)):
        return reply(403, screened(ctx.catalog, answers, locale, language))
    session = security.session_of(request)
    if session is None:
        return reply(404, screened(ctx.catalog, answers, locale, language))
    try:
        saved = responses_service.save_answers(
            ctx, session.response_id, session.token, SaveAnswersRequest(answers=answers), locale
        )
    except SecureBaseError as exc:
        ctx.session.rollback()
        return reply(exc.status_code, screened(ctx.catalog, answers, locale, language))
    return reply(200, saved.crisis, answered=saved.progress.answered, of=saved.progress.of)


# Results -------------------------------------------------------------------------------------


@router.get("/results")
def results(request: Request, ctx: ContextDep, locale: WebLocaleDep) -> Response:
    """The picture, the tendencies in words, the psychoeducation, help, print and delete."""
    session, view = browser_response(ctx, request, locale)
    if session is None or view is None:
        return missing_session(request, ctx, locale, {})
    shape = layout_of(ctx, view)
    if view.status != "submitted" or view.result is None:
        return redirect(f"/questionnaire/{first_open_step(shape.pages, view.answers)}")
    language = language_of(locale, view.language)
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
        notice_in_full=True,
    )


# Help ----------------------------------------------------------------------------------------


@router.get("/help")
def help_page(
    request: Request, ctx: ContextDep, catalog: CatalogDep, locale: WebLocaleDep
) -> Response:
    """Who to contact, for the chosen country (``?country=``, remembered); reachable from every
    page, no questions asked. It opens with the emergency number as a link to call."""
    _session, view = browser_response(ctx, request, locale)
    language = language_of(locale, view.language if view else None)
    t = translator(language)
    resolved = locale.country(view.country if view else None)
    level = view.crisis.level if view and view.crisis else "urgent"
    return page(
        request,
        "help.html",
        {
            "title": t("help.title"),
            "message": catalog.crisis.help(resolved, language).message,
            "emergency": emergency_action(catalog.crisis.resources_for("acute", resolved), t),
            "resources": catalog.crisis.resources_for(level, resolved),
            "country": resolved if catalog.crisis.knows(resolved) else "",
            "countries": crisis_countries(catalog),
            "notice": view.crisis if view else None,
            "has_session": view is not None,
        },
        language=language,
        notice_in_full=True,
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
    _session, current = browser_response(ctx, request, locale)
    language = language_of(locale, current.language if current else None)
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
    request: Request, ctx: ContextDep, locale: WebLocaleDep, code: str | None = None
) -> Response:
    """Check a resume code or link and say what it opens (reading only)."""
    return _resume_page(request, ctx, locale, code)


@router.post("/resume")
def resume(
    request: Request, form: FormDep, ctx: ContextDep, locale: WebLocaleDep, settings: SettingsDep
) -> Response:
    """Open the response a code belongs to in this browser, then carry on where it stopped."""
    if security.csrf_failure(request, field(form, security.CSRF_FIELD)):
        return forbidden(request, ctx, locale, {})
    code = field(form, "code") or ""
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
        response = redirect("/results")
    else:
        step = first_open_step(layout_of(ctx, view).pages, view.answers)
        response = redirect(f"/questionnaire/{step}")
    security.remember_session(response, candidate, settings.incomplete_ttl_days)
    return response


# Delete --------------------------------------------------------------------------------------


@router.get("/delete")
def delete_form(request: Request, ctx: ContextDep, locale: WebLocaleDep) -> Response:
    """Ask before erasing."""
    _session, view = browser_response(ctx, request, locale)
    language = language_of(locale, view.language if view else None)
    t = translator(language)
    if view is None:
        return message_page(
            request,
            language,
            title=t("delete.title"),
            paragraphs=(t("delete.none"),),
            links=(("/", t("delete.start")),),
        )
    back = (
        "/results"
        if view.status == "submitted"
        else f"/questionnaire/{first_open_step(layout_of(ctx, view).pages, view.answers)}"
    )
    return page(
        request,
        "delete.html",
        {"title": t("delete.title"), "back_url": back, "notice": view.crisis, "has_session": True},
        language=language,
    )


@router.post("/delete")
def delete(request: Request, form: FormDep, ctx: ContextDep, locale: WebLocaleDep) -> Response:
    """Erase the response and forget it in this browser."""
    if security.csrf_failure(request, field(form, security.CSRF_FIELD)):
        return forbidden(request, ctx, locale, {})
    session = security.session_of(request)
    if session is not None:
        try:
            responses_service.erase(ctx, session.response_id, session.token)
        except NotFound:
            ctx.session.rollback()
    response = redirect("/deleted")
    security.forget_session(response)
    return response


@router.get("/deleted")
def deleted(request: Request, catalog: CatalogDep, locale: WebLocaleDep) -> Response:
    """Confirmation, with help close at hand."""
    language = language_of(locale)
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
