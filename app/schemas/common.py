"""Building blocks shared by the API's request and response models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation, StringConstraints

LanguageParam = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
CountryParam = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
StudyCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
RawAnswers = Annotated[
    # Described as JSON values, but each value is taken as it came: the body is parsed JSON
    # already, and every answer is checked against the questionnaire (so a bad one gets the
    # questionnaire's error, with its item), where checking each value again as JSON cost a
    # call into Python per answer.
    dict[str, SkipValidation[JsonValue]],
    Field(
        description="Item id -> the point chosen on the item's scale (a whole number); for a "
        "demographic item, the chosen option's position from 1. Every answer is checked "
        "against the questionnaire; see the errors of a 422.",
        examples=[{"anx01": 5, "avo01": 2}],
    ),
]


class RequestModel(BaseModel):
    """Requests are strict: unknown fields and JSON of the wrong type are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldProblemOut(ResponseModel):
    item: str
    message: str
