"""Examples in the OpenAPI document: a request body for every operation that takes one, and
the answer to a risk answer, computed by the same code that answers it.

The examples name the bundled questionnaire; ``tests/docs/test_openapi_examples.py`` sends
every one of them to a real response and checks the documented answer is the one given.
"""

from __future__ import annotations

from typing import Any

from app.schemas.responses import AnswersSaved
from app.services.progress import progress_of
from scoring.catalog import Catalog
from scoring.risk import assess_risk

QUESTIONNAIRE_ID = "attachment-self-reflection"
ITEMS = [f"{dimension}{n:02d}" for dimension in ("anx", "avo", "dis") for n in range(1, 10)]
# "Thoughts that you would be better off dead, or of ending your life": on several days.
RISK_ANSWERS: dict[str, int] = {"wb_life": 1}
RISK_COUNTRY = "GB"
RISK_LANGUAGE = "en"

EVERY_ANSWER = {item: (2 + index) % 7 + 1 for index, item in enumerate(ITEMS)}

Examples = dict[str, dict[str, Any]]


def _example(summary: str, value: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    example: dict[str, Any] = {"summary": summary, "value": value}
    if description:
        example["description"] = description
    return example


REQUEST_EXAMPLES: dict[str, Examples] = {
    "scoreAnswers": {
        "some": _example("A few answers", {"answers": {"anx01": 5, "avo01": 2}, "lang": "en"}),
        "all": _example("Every attachment item", {"answers": EVERY_ANSWER, "country": "GB"}),
    },
    "createResponse": {
        "start": _example(
            "Start an empty response",
            {"questionnaire_id": QUESTIONNAIRE_ID, "lang": "en", "country": "GB"},
        ),
        "consent": _example(
            "Start with research consent (add `study`: a registered study's enrolment code)",
            {"questionnaire_id": QUESTIONNAIRE_ID, "consent": {"research": True}},
        ),
        "at_once": _example(
            "Answer everything and submit in one call",
            {"questionnaire_id": QUESTIONNAIRE_ID, "answers": EVERY_ANSWER, "submit": True},
        ),
    },
    "saveAnswers": {
        "some": _example("Save some answers", {"answers": {"anx01": 5, "avo01": 2, "dis01": 3}}),
        "risk": _example(
            "An answer that indicates risk",
            {"answers": RISK_ANSWERS, "country": RISK_COUNTRY, "lang": RISK_LANGUAGE},
            "The answer is saved and the crisis notice comes back at once, in the same "
            "response (see the `risk` example of the 200 response).",
        ),
    },
}


def risk_answer_example(catalog: Catalog) -> dict[str, Any] | None:
    """What saving :data:`RISK_ANSWERS` into an empty response answers: the notice included.
    None when the bundled questionnaire is not in the catalog."""
    loaded = catalog.get(QUESTIONNAIRE_ID)
    if loaded is None:
        return None
    risk = assess_risk(loaded.definition, RISK_ANSWERS)
    saved = AnswersSaved(
        status="in_progress",
        progress=progress_of(loaded.definition, RISK_ANSWERS),
        crisis=catalog.notice(risk, RISK_COUNTRY, RISK_LANGUAGE),
    )
    return saved.model_dump(mode="json")
