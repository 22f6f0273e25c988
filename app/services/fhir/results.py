"""A posted QuestionnaireResponse scored, nothing stored: the result as ``POST .../score``
returns it, as a Bundle of Observations."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.errors import InvalidInput
from app.schemas.responses import ScoreRequest
from app.services import questionnaires as questionnaire_service
from app.services.fhir.intake import PostedResponse
from app.services.fhir.observations import result_bundle
from app.services.fhir.outcome import FhirProblem, Issue
from app.services.fhir.response import ROOT
from scoring.catalog import Catalog


def score_posted(catalog: Catalog, posted: PostedResponse) -> dict[str, Any]:
    try:
        request = ScoreRequest.model_validate({"answers": posted.read.answers})
        result = questionnaire_service.score_stateless(
            catalog, posted.loaded, request, posted.locale
        )
    except InvalidInput as exc:
        issues = [Issue("value", p.message, posted.read.expression(p.item)) for p in exc.problems]
        raise FhirProblem(422, issues, posted.notice) from exc
    except ValidationError as exc:  # answers that are not JSON values: never a 500
        raise FhirProblem(
            422, [Issue("value", "answers could not be read", ROOT)], posted.notice
        ) from exc
    return result_bundle(result, final=posted.final)
