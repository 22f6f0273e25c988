"""The crisis notice a response carries, counted for the operators' metrics: once per answer
that shows it.

Several layers can hold the notice of one answer: the service that works it out (sometimes
more than once: from the answers sent and from the level stored), the error handler that
shows it on a refusal or a 503, the risk edge that adds it to a JSON answer. The risk edge
opens one :class:`AnswerNotices` per request (:func:`one_answer`) and tells it the status the
answer was sent with; while it is open, :func:`counted` only notes that the answer holds a
notice, and the answer counts once when it is done, unless it showed nothing: a redirect (the
web form's 303 after a save, whose page then counts the notice it shows) or an answer
without content. An error handler that runs after the edge is done (a 503 for an outage
the request ran into) counts the notice it shows at once, if the answer has not counted one.
Outside a request (the batch route's rows, each a person's answers of its own, and the
command line) every notice counts.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from app.metrics import CRISIS_NOTICES
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.risk import RiskAssessment

ANSWER_STATE = "crisis_notice_answer"
"""Where the request's :class:`AnswerNotices` is kept in ``scope["state"]``, for the error
handlers that run outside the risk edge."""


def shows_nothing(status: int) -> bool:
    """An answer of this status has nothing to show a person: a redirect, 204 or 304."""
    return status == 204 or 300 <= status < 400


@dataclass(slots=True)
class AnswerNotices:
    """One answer being made: whether it holds a notice, the status it was sent with, whether
    it is done, and whether its notice was counted."""

    held: bool = False
    status: int | None = None
    done: bool = False
    counted: bool = False

    def hold(self) -> None:
        """A layer shows the answer's notice: counted when the answer is done, or now if it
        is (an error handler that runs after the edge)."""
        if self.done:
            self._count()
        else:
            self.held = True

    def finish(self) -> None:
        """The answer is done: count its notice if it holds one and showed something. Sent
        with no status (the request failed past the edge), the handler that answers it counts
        the notice it shows, through :meth:`hold`."""
        self.done = True
        if self.held and self.status is not None and not shows_nothing(self.status):
            self._count()

    def _count(self) -> None:
        if not self.counted:
            self.counted = True
            CRISIS_NOTICES.inc()


# Shared by the request's threads: a worker thread gets a copy of the context, which holds the
# same AnswerNotices object.
_ANSWER: ContextVar[AnswerNotices | None] = ContextVar("securebase_answer", default=None)


@contextmanager
def one_answer(state: MutableMapping[str, Any]) -> Iterator[AnswerNotices]:
    """Count at most one notice for everything done within (one request's answer), when it
    is done; the caller sets the answer's ``status`` as it is sent."""
    answer = AnswerNotices()
    state[ANSWER_STATE] = answer
    token = _ANSWER.set(answer)
    try:
        yield answer
    finally:
        _ANSWER.reset(token)
        answer.finish()


def counted(
    notice: CrisisNotice | None, answer: AnswerNotices | None = None
) -> CrisisNotice | None:
    """``notice``, counted for this answer (``answer``, else the current one) if it shows
    anything, once however many layers hold it; counted at once outside a request."""
    if notice is None:
        return None
    answer = answer if answer is not None else _ANSWER.get()
    if answer is None:
        CRISIS_NOTICES.inc()
    else:
        answer.hold()
    return notice


def counted_in(state: MutableMapping[str, Any], notice: CrisisNotice | None) -> CrisisNotice | None:
    """:func:`counted` for the answer to the request whose ``scope["state"]`` this is."""
    return counted(notice, state.get(ANSWER_STATE))


def crisis_notice(
    catalog: Catalog, risk: RiskAssessment, country: str | None, language: str
) -> CrisisNotice | None:
    return counted(catalog.notice(risk, country, language))
