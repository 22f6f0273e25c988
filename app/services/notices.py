"""The crisis notice a response carries, counted for the operators' metrics: once per answer.

Several layers can hold the notice of one answer: the service that works it out (sometimes
more than once: from the answers sent and from the level stored), the error handler that
shows it on a refusal or a 503, the risk edge that adds it to a JSON answer. The risk edge
opens one :class:`AnswerNotices` per request (:func:`one_answer`); while it is open,
:func:`counted` counts only the first notice, wherever it comes from. Outside a request (the
batch route's rows, each a person's answers of its own, and the command line) every notice
counts.
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


@dataclass(slots=True)
class AnswerNotices:
    """One answer being made: whether a notice was counted for it yet."""

    counted: bool = False


# Shared by the request's threads: a worker thread gets a copy of the context, which holds the
# same AnswerNotices object.
_ANSWER: ContextVar[AnswerNotices | None] = ContextVar("securebase_answer", default=None)


@contextmanager
def one_answer(state: MutableMapping[str, Any]) -> Iterator[AnswerNotices]:
    """Count at most one notice for everything done within (one request's answer)."""
    answer = AnswerNotices()
    state[ANSWER_STATE] = answer
    token = _ANSWER.set(answer)
    try:
        yield answer
    finally:
        _ANSWER.reset(token)


def counted(
    notice: CrisisNotice | None, answer: AnswerNotices | None = None
) -> CrisisNotice | None:
    """``notice``, counted unless this answer (``answer``, else the current one) already
    counted one."""
    if notice is None:
        return None
    answer = answer if answer is not None else _ANSWER.get()
    if answer is None or not answer.counted:
        CRISIS_NOTICES.inc()
        if answer is not None:
            answer.counted = True
    return notice


def counted_in(state: MutableMapping[str, Any], notice: CrisisNotice | None) -> CrisisNotice | None:
    """:func:`counted` for the answer to the request whose ``scope["state"]`` this is."""
    return counted(notice, state.get(ANSWER_STATE))


def crisis_notice(
    catalog: Catalog, risk: RiskAssessment, country: str | None, language: str
) -> CrisisNotice | None:
    return counted(catalog.notice(risk, country, language))
