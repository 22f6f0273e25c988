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

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.deps import CatalogDep, ContextDep, ReadContextDep, SettingsDep
from app.errors import DATABASE_OUTAGES
from app.schemas.responses import Consent, CreateResponseRequest
from app.services import responses as responses_service
from app.services import studies, web_flow
from app.web import keeping, offer, security
from app.web.landing import StudyLink, landing_context
from app.web.locale import WebLocaleDep
from app.web.rendering import page, translator
from app.web.replies import (
    FormDep,
    JsonDep,
    answers_from,
    answers_of_json,
    autosave_reply,
    browser_response,
    carry_on_url,
    field,
    forbidden,
    language_of,
    layout_of,
    missing_session,
    missing_url,
    not_found,
    not_offered,
    redirect,
    refused_answers,
    resume_url,
    screened,
    step_number,
)
from app.web.replies import browser_error_page as browser_error_page
from app.web.security import BrowserSession
from app.web.views import (
    ResumeOffer,
    help_context,
    layout,
    questionnaire_context,
    results_page,
)

router = APIRouter(include_in_schema=False)

ATTEMPT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,255}$")


# Landing, start ------------------------------------------------------------------------------


@router.get("/")
def landing(
    request: Request,
    ctx: ReadContextDep,
    locale: WebLocaleDep,
    settings: SettingsDep,
    study: str | None = None,
    missing: str | None = None,
    questionnaire: str | None = None,
) -> Response:
    """What this is and is not, what is stored, consent, and the start button; the choice of
    questionnaires when there is more than one."""
    session, view = browser_response(ctx, request, locale)
    language = language_of(locale, view.language if view else None)
    t = translator(language)
    loaded = offer.chosen(ctx.catalog, questionnaire)
    if loaded is None:
        return not_offered(request, locale, view, 404)
    study_code = studies.enrolment_code_or_none(ctx.session, study)
    link = StudyLink(study_code, study is not None and study_code is None, bool(questionnaire))
    saved_in = offer.named(ctx.catalog, view.questionnaire.id, language) if view else None
    response = page(
        request,
        "landing.html",
        {
            **landing_context(
                ctx.catalog, layout(loaded, language), t, link, settings.incomplete_ttl_days
            ),
            "missing": missing is not None and view is None,
            "attempt": secrets.token_urlsafe(24),
            "view": view,
            "saved_title": saved_in.title if saved_in and offer.has_choice(ctx.catalog) else None,
            "carry_on": carry_on_url(ctx, view) if view is not None else None,
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
    """Start a response to the chosen questionnaire (the default when the form names none) with
    the consent given (unticked means no) and the study, if any."""
    if security.csrf_failure(request, field(form, security.CSRF_FIELD)):
        return forbidden(request, ctx, locale, {})
    loaded = offer.chosen(ctx.catalog, field(form, offer.QUESTIONNAIRE_FIELD))
    if loaded is None:
        return not_offered(request, locale, None, 422)
    study = field(form, "study")
    attempt = field(form, "attempt")
    created = responses_service.start(
        ctx,
        CreateResponseRequest(
            questionnaire_id=loaded.definition.id,
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
    ctx: ReadContextDep,
    locale: WebLocaleDep,
    missing: str | None = None,
    still_open: Annotated[str | None, Query(alias="open")] = None,
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
    show_code = security.has_new_code_flag(request)
    show_missing = missing is not None and not view.progress.ready_to_submit
    language = language_of(locale, view.language)
    response = page(
        request,
        "questionnaire.html",
        questionnaire_context(
            shape,
            number,
            view,
            translator(language),
            resume=ResumeOffer(resume_url(request, ctx, session, view), session)
            if show_code
            else None,
            missing=show_missing,
            open_here=still_open is not None,
        ),
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
    session, view = browser_response(ctx, request, locale)
    if session is None or view is None:
        return missing_session(request, ctx, locale, answers)
    shape = layout_of(ctx, view)
    number = step_number(step, len(shape.pages)) or 1
    current = shape.pages[number - 1]
    outcome = web_flow.save_page(
        ctx,
        session.response_id,
        session.token,
        web_flow.PageForm(number, current.item_ids, number == len(shape.pages)),
        answers,
        web_flow.move_of(field(form, "action")),
        locale,
    )
    if isinstance(outcome, web_flow.Moved):
        return redirect(f"/questionnaire/{outcome.step}")
    if isinstance(outcome, web_flow.OpenOnPage):
        return redirect(f"/questionnaire/{outcome.step}?open=1#open-items")
    if isinstance(outcome, web_flow.Finished):
        return redirect("/results")
    if isinstance(outcome, web_flow.Lost):
        return missing_session(request, ctx, locale, answers)
    _session, view = browser_response(ctx, request, locale)
    if view is None:  # erased or expired between the save and now
        return missing_session(request, ctx, locale, answers)
    if isinstance(outcome, web_flow.Incomplete):
        return redirect(missing_url(ctx, view))
    return refused_answers(request, ctx, locale, answers, view, number)


@router.post("/web/answers")
def autosave(request: Request, body: JsonDep, ctx: ContextDep, locale: WebLocaleDep) -> Response:
    """For the script: save answers as they are chosen and return the notice they call for."""
    answers = answers_of_json(body)
    language = language_of(locale)
    session = security.session_of(request)
    if security.csrf_failure(request, request.headers.get(security.CSRF_HEADER)):
        status = 403
    elif session is None:
        status = 404
    else:
        saved = web_flow.autosave(ctx, session.response_id, session.token, answers, locale)
        if isinstance(saved, web_flow.Autosaved) and saved.progress is not None:
            progress = {"answered": saved.progress.answered, "of": saved.progress.of}
            return autosave_reply(request, ctx.catalog, language, 200, saved.notice, **progress)
        status = saved.status_code
    notice = screened(ctx.catalog, answers, locale, language)
    return autosave_reply(request, ctx.catalog, language, status, notice)


# Results -------------------------------------------------------------------------------------


@router.get("/results")
def results(request: Request, ctx: ReadContextDep, locale: WebLocaleDep) -> Response:
    """The picture, the tendencies in words, the psychoeducation, help, print and delete."""
    session, view = browser_response(ctx, request, locale)
    if session is None or view is None:
        return missing_session(request, ctx, locale, {})
    if view.status != "submitted" or view.result is None:
        return redirect(carry_on_url(ctx, view))
    language = language_of(locale, view.language)
    t = translator(language)
    return page(
        request,
        "results.html",
        {
            "title": t("results.title"),
            "report": results_page(ctx.catalog, layout_of(ctx, view), view, t),
            "notice": view.crisis,
            "has_session": True,
        },
        language=language,
        notice_in_full=True,
    )


# Help ----------------------------------------------------------------------------------------


@router.get("/help")
def help_page(
    request: Request, ctx: ReadContextDep, catalog: CatalogDep, locale: WebLocaleDep
) -> Response:
    """Who to contact, for the chosen country (``?country=``, remembered); reachable from every
    page, no questions asked. It opens with the emergency number as a link to call."""
    try:
        _session, view = browser_response(ctx, request, locale)
    except DATABASE_OUTAGES:
        view = None  # the help is in the resources file: shown while the database is down too
    language = language_of(locale, view.language if view else None)
    t = translator(language)
    return page(
        request,
        "help.html",
        {
            **help_context(catalog, locale.country(view.country if view else None), view, t),
            "notice": view.crisis if view else None,
            "has_session": view is not None,
        },
        language=language,
        notice_in_full=True,
    )


router.include_router(keeping.router)
