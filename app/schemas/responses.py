"""Requests and answers of the response-session endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from app.schemas.common import (
    CountryParam,
    LanguageParam,
    RawAnswers,
    RequestModel,
    ResponseModel,
    StudyCode,
)
from scoring.crisis import CrisisNotice
from scoring.result import QuestionnaireRef, ScoreResult

Status = Literal["in_progress", "submitted"]


class Consent(RequestModel):
    research: bool = Field(
        default=False,
        description="Explicit opt-in to anonymous, aggregated research use. Default: no.",
    )


class ScoreRequest(RequestModel):
    answers: RawAnswers
    lang: LanguageParam | None = None
    country: CountryParam | None = None


class CreateResponseRequest(RequestModel):
    questionnaire_id: str = Field(max_length=64)
    answers: RawAnswers | None = None
    submit: bool = False
    consent: Consent = Consent()
    study: StudyCode | None = None
    lang: LanguageParam | None = None
    country: CountryParam | None = None


class SaveAnswersRequest(RequestModel):
    answers: RawAnswers
    lang: LanguageParam | None = None
    country: CountryParam | None = None


class Progress(ResponseModel):
    answered: int = Field(description="Attachment items answered.")
    of: int = Field(description="Attachment items in the questionnaire.")
    wellbeing_answered: int
    ready_to_submit: bool = Field(
        description="The answers may be submitted: every dimension has enough answers for a "
        "score, or, answered per relationship, every relationship answered at all (at least "
        "one) has enough answers for each of its dimensions."
    )


class ResponseCreated(ResponseModel):
    response_id: str
    token: str = Field(description="Shown once. Send as 'Authorization: Bearer <token>'.")
    status: Status
    progress: Progress
    result: ScoreResult | None = None
    crisis: CrisisNotice | None


class AnswersSaved(ResponseModel):
    status: Status
    progress: Progress
    crisis: CrisisNotice | None


class Submitted(ResponseModel):
    response_id: str
    status: Status
    result: ScoreResult
    crisis: CrisisNotice | None


class ResponseView(ResponseModel):
    response_id: str
    status: Status
    questionnaire: QuestionnaireRef
    language: str
    country: str | None
    study: str | None
    consent: dict[str, bool]
    answers: dict[str, int]
    progress: Progress
    result: ScoreResult | None
    crisis: CrisisNotice | None
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
