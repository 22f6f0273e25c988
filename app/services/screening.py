"""Risk screening of a request body, whatever else is wrong with it.

Used for error responses, so a request that is rejected (unknown item, malformed field,
missing token, anything) still returns the crisis notice when its answers indicate risk.
The questionnaire is taken from the body or the path when they name a known one; otherwise
the answers are screened against every definition in the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.services.notices import crisis_notice
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice


def screen_body(
    catalog: Catalog,
    payload: Mapping[str, object],
    *,
    path_questionnaire_id: str | None,
    country: str | None,
    language: str,
) -> CrisisNotice | None:
    answers = payload.get("answers")
    if not isinstance(answers, dict):
        return None
    named = payload.get("questionnaire_id")
    questionnaire_id = named if isinstance(named, str) and catalog.get(named) else None
    risk = catalog.screen(answers, questionnaire_id or path_questionnaire_id)
    return crisis_notice(catalog, risk, country, language)
