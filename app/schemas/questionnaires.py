"""What the API shows of a questionnaire."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import ResponseModel
from scoring.result import only_when_set


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
    target: str | None = only_when_set(
        "For a questionnaire answered per relationship: the relationship (target id) this copy "
        "of the statement is about; absent otherwise."
    )
    target_label: str | None = only_when_set(
        "The relationship's label, to show beside or above its statements."
    )


class DemographicOptionView(ResponseModel):
    id: str
    label: str


class DemographicView(ResponseModel):
    """A coarse demographic question: answer it with the chosen option's position counted
    from 1 (the first option is 1). It is never scored; research exports can group by it."""

    id: str
    text: str
    options: list[DemographicOptionView]


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
    demographics: list[DemographicView] = Field(
        default_factory=list,
        description="Optional demographic items, none of them scored (empty when the "
        "questionnaire declares none).",
    )
