"""What the API shows of a questionnaire."""

from __future__ import annotations

from app.schemas.common import ResponseModel


class QuestionnaireSummary(ResponseModel):
    id: str
    version: str
    hash: str
    title: str
    languages: list[str]
    item_count: int
    estimated_minutes: int


class ScaleView(ResponseModel):
    min: int
    max: int
    labels: list[str]


class ItemView(ResponseModel):
    id: str
    text: str
    scale: str


class SectionView(ResponseModel):
    id: str
    title: str
    instructions: str
    optional: bool
    items: list[ItemView]


class QuestionnaireView(ResponseModel):
    id: str
    version: str
    hash: str
    language: str
    title: str
    instructions: str
    consent_text: str | None
    estimated_minutes: int
    scales: dict[str, ScaleView]
    sections: list[SectionView]
    items: list[ItemView]
    wellbeing_items: list[ItemView]
