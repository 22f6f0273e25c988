"""The pages that keep or end a response: resume it in another browser, or erase it.

Resuming opens the response a code belongs to, in its own questionnaire; a resume link that
names its questionnaire (``&questionnaire=<id>``, where there is a choice) still leads back to
that questionnaire when the answers are gone.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.deps import CatalogDep, ContextDep, ReadContextDep, SettingsDep
from app.services import web_flow
from app.services.locale import RequestLocale
from app.web import offer, security
from app.web.locale import WebLocaleDep
from app.web.rendering import page, translator
from app.web.replies import (
    FormDep,
    browser_response,
    carry_on_url,
    field,
    forbidden,
    language_of,
    message_page,
    redirect,
    short_page,
)
from app.web.security import BrowserSession

router = APIRouter(include_in_schema=False)


# Resume --------------------------------------------------------------------------------------


def _resume_page(
    request: Request,
    ctx: ContextDep,
    locale: RequestLocale,
    code: str | None,
    questionnaire: str | None,
) -> Response:
    _session, current = browser_response(ctx, request, locale)
    language = language_of(locale, current.language if current else None)
    candidate = BrowserSession.parse(code) if code is not None else None
    found = web_flow.find(ctx, *candidate.parts, locale) if candidate else None
    not_found = code is not None and found is None
    found_in = offer.named(ctx.catalog, found.questionnaire.id, language) if found else None
    return page(
        request,
        "resume.html",
        {
            "title": translator(language)("resume.title"),
            "code": code or "",
            "found": found,
            "found_title": found_in.title if found_in and offer.has_choice(ctx.catalog) else None,
            "not_found": not_found,
            "start_again": offer.named(ctx.catalog, questionnaire, language),
            "questionnaire_field": offer.QUESTIONNAIRE_FIELD,
            "notice": (found.crisis if found else None) or (current.crisis if current else None),
            "has_session": current is not None,
        },
        language=language,
        status_code=404 if not_found else 200,
    )


@router.get("/resume")
def resume_form(
    request: Request,
    ctx: ReadContextDep,
    locale: WebLocaleDep,
    code: str | None = None,
    questionnaire: str | None = None,
) -> Response:
    """Check a resume code or link and say what it opens (reading only)."""
    return _resume_page(request, ctx, locale, code, questionnaire)


@router.post("/resume")
def resume(
    request: Request, form: FormDep, ctx: ContextDep, locale: WebLocaleDep, settings: SettingsDep
) -> Response:
    """Open the response a code belongs to in this browser, then carry on where it stopped.
    The code may be the link's form or the grouped form copied by hand."""
    if security.csrf_failure(request, field(form, security.CSRF_FIELD)):
        return forbidden(request, ctx, locale, {})
    code = field(form, "code") or ""
    candidate = BrowserSession.parse(code)
    view = web_flow.find(ctx, *candidate.parts, locale) if candidate else None
    if candidate is None or view is None:
        return _resume_page(request, ctx, locale, code, field(form, offer.QUESTIONNAIRE_FIELD))
    response = redirect(carry_on_url(ctx, view))
    security.remember_session(response, candidate, settings.incomplete_ttl_days)
    return response


# Delete --------------------------------------------------------------------------------------


@router.get("/delete")
def delete_form(request: Request, ctx: ReadContextDep, locale: WebLocaleDep) -> Response:
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
    return page(
        request,
        "delete.html",
        {
            "title": t("delete.title"),
            "back_url": carry_on_url(ctx, view),
            "notice": view.crisis,
            "has_session": True,
        },
        language=language,
    )


@router.post("/delete")
def delete(request: Request, form: FormDep, ctx: ContextDep, locale: WebLocaleDep) -> Response:
    """Erase the response and forget it in this browser."""
    if security.csrf_failure(request, field(form, security.CSRF_FIELD)):
        return forbidden(request, ctx, locale, {})
    session = security.session_of(request)
    if session is not None:
        web_flow.erase(ctx, session.response_id, session.token)
    response = redirect("/deleted")
    security.forget_session(response)
    return response


@router.get("/deleted")
def deleted(request: Request, catalog: CatalogDep, locale: WebLocaleDep) -> Response:
    """Confirmation, with help close at hand."""
    language = language_of(locale)
    return short_page(
        request,
        locale,
        None,
        ("delete.done_title", "delete.done_body"),
        status_code=200,
        footer=catalog.crisis.help(locale.country(), language),
    )
