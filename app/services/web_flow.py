"""The web questionnaire's flow: save a page and move or finish, autosave, resume, erase.

The routes render; this module decides what happened and returns it as an outcome. The rules
it adds to the response services:

- **A page's answers are kept even when finishing is refused.** Saving and submitting are two
  steps with a commit between them, so "too few answers for a score" never rolls back the
  answers (and the crisis level) that the same form just saved.
- **Enter never skips a statement silently.** A form sent without a button (Enter in a radio
  group with scripts off) is a *check*: the page is saved, and when statements on it are still
  open the person is shown which ones, with Next still there to move on deliberately. Next and
  Back pressed as buttons always move: answering is optional per statement (each dimension
  needs only enough answers for a score), so skipping stays a choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import JsonValue

from app.errors import Conflict, InvalidInput, NotFound, SecureBaseError
from app.schemas.responses import Progress, ResponseView, SaveAnswersRequest
from app.services import responses as responses_service
from app.services.locale import RequestLocale
from app.services.responses import ResponseContext
from scoring.crisis import CrisisNotice

Move = Literal["back", "next", "finish", "check"]


@dataclass(frozen=True, slots=True)
class Moved:
    """Saved; go to the previous or next page."""

    step: int


@dataclass(frozen=True, slots=True)
class Finished:
    """Submitted (now or before): show the results."""


@dataclass(frozen=True, slots=True)
class Incomplete:
    """Saved, but too few answers for a score: back to the first open page."""


@dataclass(frozen=True, slots=True)
class OpenOnPage:
    """Saved from a form sent without a button while statements on this page are open: show
    them, and let the person answer or move on deliberately."""

    step: int


@dataclass(frozen=True, slots=True)
class Lost:
    """The browser's session opens no response (deleted, expired, wrong token)."""


@dataclass(frozen=True, slots=True)
class Refused:
    """Some answers are not valid: nothing from this form was saved."""


PageOutcome = Moved | Finished | Incomplete | OpenOnPage | Lost | Refused


@dataclass(frozen=True, slots=True)
class PageForm:
    """One page as the routes know it: where it is, and which items it holds."""

    step: int
    items: tuple[str, ...]
    last: bool


def move_of(action: str | None) -> Move:
    """The button pressed. A form sent without one (implicit submission) is a check."""
    if action == "back":
        return "back"
    if action == "next":
        return "next"
    if action == "finish":
        return "finish"
    return "check"


def _open_items(
    ctx: ResponseContext,
    response_id: str,
    token: str,
    items: Iterable[str],
    locale: RequestLocale,
) -> bool:
    view = responses_service.read(ctx, response_id, token, locale)
    return any(item not in view.answers for item in items)


def save_page(
    ctx: ResponseContext,
    response_id: str,
    token: str,
    page: PageForm,
    answers: dict[str, JsonValue],
    move: Move,
    locale: RequestLocale,
) -> PageOutcome:
    """Save one page's answers, then go where ``move`` asks."""
    try:
        with ctx.all_or_nothing():
            if answers:
                responses_service.save_answers(
                    ctx, response_id, token, SaveAnswersRequest(answers=answers), locale
                )
            if move == "check" and _open_items(ctx, response_id, token, page.items, locale):
                return OpenOnPage(page.step)
    except NotFound:
        return Lost()
    except Conflict:
        return Finished()
    except InvalidInput:
        return Refused()
    if move == "check":
        move = "finish" if page.last else "next"
    if move == "back":
        return Moved(max(page.step - 1, 1))
    if move == "next":
        return Moved(page.step + 1)
    # What was just saved must survive a refused finish: commit it before trying.
    ctx.session.commit()
    try:
        with ctx.all_or_nothing():
            responses_service.submit(ctx, response_id, token, locale)
    except InvalidInput:
        return Incomplete()
    except Conflict:
        pass  # submitted before: show the results
    return Finished()


@dataclass(frozen=True, slots=True)
class Autosaved:
    """What the script's save came to: its status, the notice, and the progress when saved."""

    status_code: int
    notice: CrisisNotice | None
    progress: Progress | None = None


def autosave(
    ctx: ResponseContext,
    response_id: str,
    token: str,
    answers: dict[str, JsonValue],
    locale: RequestLocale,
) -> Autosaved | SecureBaseError:
    """Save answers as they are chosen; a refusal is returned (rolled back), not raised, so
    the route can still screen the answers for the notice they call for."""
    try:
        with ctx.all_or_nothing():
            saved = responses_service.save_answers(
                ctx, response_id, token, SaveAnswersRequest(answers=answers), locale
            )
    except SecureBaseError as exc:
        return exc
    return Autosaved(200, saved.crisis, saved.progress)


def find(
    ctx: ResponseContext, response_id: str, token: str, locale: RequestLocale
) -> ResponseView | None:
    """The response a session or resume code opens, or None (gone, expired, wrong token, or
    its questionnaire no longer offered): callers cannot tell these apart, on purpose."""
    try:
        return responses_service.read(ctx, response_id, token, locale)
    except (NotFound, Conflict):
        return None


def erase(ctx: ResponseContext, response_id: str, token: str) -> None:
    """Erase the response; one already gone is fine (the person wanted it gone)."""
    try:
        with ctx.all_or_nothing():
            responses_service.erase(ctx, response_id, token)
    except NotFound:
        pass
