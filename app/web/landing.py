"""What the landing page says: the questionnaire shown, the choice of others, the study link.

The default questionnaire is described in the words written for it (``landing.what_body``);
any other is described from its own definition: its statements, its scores, and the optional
wellbeing check only when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.web import offer
from app.web.strings import Translator
from app.web.views import Layout, localized
from scoring.catalog import Catalog


@dataclass(frozen=True, slots=True)
class StudyLink:
    """The study an enrolment link names: its code when registered; ``invalid`` when the link
    named a study that is not; ``names_questionnaire`` when the link also chose the
    questionnaire (then no other is offered beside it)."""

    code: str | None
    invalid: bool
    names_questionnaire: bool


def landing_context(
    catalog: Catalog, shape: Layout, t: Translator, study: StudyLink, retention_days: int
) -> dict[str, object]:
    """What the landing page shows about the questionnaire, and how to start it."""
    definition = shape.definition
    language = shape.view.language
    is_default = definition.id == offer.default_questionnaire(catalog).definition.id
    fixed_by_study = study.code is not None and study.names_questionnaire
    return {
        "title": t("landing.title") if is_default else shape.view.title,
        "is_default": is_default,
        "questionnaire": shape.view,
        "questionnaire_field": offer.QUESTIONNAIRE_FIELD,
        "required_pages": shape.required_pages,
        "item_count": len(shape.view.items),
        "wellbeing_count": len(shape.view.wellbeing_items),
        "dimensions": ", ".join(localized(d.label, language) for d in definition.dimensions),
        "retention_days": retention_days,
        "study": study.code,
        "study_invalid": study.invalid,
        "choices": ()
        if fixed_by_study
        else offer.choices(catalog, language, definition.id, study.code),
    }
