"""The web questionnaire's page flow: save a page's answers, then move or finish.

The routes render; this module decides what happened and returns it as an outcome. The one
rule it adds to the response services: **a page's answers are kept even when finishing is
refused.** Saving and submitting are two steps with a commit between them, so "too few answers
for a score" never rolls back the answers (and the crisis level) that the same form just
saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import JsonValue

from app.errors import Conflict, InvalidInput, NotFound
from app.schemas.responses import SaveAnswersRequest
from app.services import responses as responses_service
from app.services.locale import RequestLocale
from app.services.responses import ResponseContext

Move = Literal["back", "next", "finish"]


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
class Lost:
    """The browser's session opens no response (deleted, expired, wrong token)."""


@dataclass(frozen=True, slots=True)
class Refused:
    """Some answers are not valid: nothing from this form was saved."""


PageOutcome = Moved | Finished | Incomplete | Lost | Refused


def move_of(action: str | None) -> Move:
    if action == "back":
        return "back"
    if action == "finish":
        return "finish"
    return "next"


def save_page(
    ctx: ResponseContext,
    response_id: str,
    token: str,
    step: int,
    answers: dict[str, JsonValue],
    move: Move,
    locale: RequestLocale,
) -> PageOutcome:
    """Save one page's answers, then go where ``move`` asks."""
    try:
        if answers:
            responses_service.save_answers(
                ctx, response_id, token, SaveAnswersRequest(answers=answers), locale
            )
    except NotFound:
        ctx.session.rollback()
        return Lost()
    except Conflict:
        ctx.session.rollback()
        return Finished()
    except InvalidInput:
        ctx.session.rollback()
        return Refused()
    if move == "back":
        return Moved(max(step - 1, 1))
    if move == "next":
        return Moved(step + 1)
    # What was just saved must survive a refused finish: commit it before trying.
    ctx.session.commit()
    try:
        responses_service.submit(ctx, response_id, token, locale)
    except InvalidInput:
        ctx.session.rollback()
        return Incomplete()
    except Conflict:
        ctx.session.rollback()
    return Finished()
