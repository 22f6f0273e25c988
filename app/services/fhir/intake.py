"""A posted QuestionnaireResponse, checked: which questionnaire it answers, its answers by
item, and the crisis notice they call for. Whatever is wrong is a ``FhirProblem`` naming the
item, and it carries the notice: risk is screened before anything else is judged.

Scoring and storing both start here, so a response that could not be scored is never stored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.services import json_input
from app.services.fhir.outcome import FhirProblem, Issue
from app.services.fhir.questionnaire import (
    fhir_version_string,
    questionnaire_id_of,
    scores_version,
)
from app.services.fhir.response import ROOT, ReadAnswers, read_answers
from app.services.locale import RequestLocale
from app.services.screening import screen_body
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.loading import LoadedDefinition

IN_PROGRESS = "in-progress"


@dataclass(frozen=True, slots=True)
class PostedResponse:
    """A QuestionnaireResponse whose structure, questionnaire and answer codes are sound (the
    answers themselves are judged by the scoring services)."""

    loaded: LoadedDefinition
    read: ReadAnswers
    notice: CrisisNotice | None
    locale: RequestLocale
    status: str

    @property
    def final(self) -> bool:
        return self.status != IN_PROGRESS


def _notice(
    catalog: Catalog,
    answers: dict[str, object],
    questionnaire_id: str | None,
    locale: RequestLocale,
) -> CrisisNotice | None:
    return screen_body(
        catalog,
        {"answers": answers},
        path_questionnaire_id=questionnaire_id,
        country=locale.country(),
        language=next(iter(locale.header_languages), "en"),
    )


def _unknown_questionnaire(canonical: object, notice: CrisisNotice | None) -> FhirProblem:
    return FhirProblem(
        422 if canonical is None else 404,
        [
            Issue(
                "required" if canonical is None else "not-found",
                "questionnaire must name a questionnaire of this service by its canonical url",
                f"{ROOT}.questionnaire",
            )
        ],
        notice,
    )


def posted_notice(catalog: Catalog, body: bytes, locale: RequestLocale) -> CrisisNotice | None:
    """The notice a body's answers call for, whatever else is wrong with the request (an
    unoffered release, a bad parameter): a refusal that never reads the resource still
    carries it. None for a body that is not a JSON object (the risk edge scans that one)."""
    try:
        resource = json_input.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(resource, dict):
        return None
    canonical = resource.get("questionnaire")
    questionnaire_id = questionnaire_id_of(canonical)[0] if isinstance(canonical, str) else None
    loaded = catalog.get(questionnaire_id) if questionnaire_id else None
    read = read_answers(loaded.definition if loaded else None, resource)
    return _notice(catalog, read.answers, loaded.definition.id if loaded else None, locale)


def posted_response(catalog: Catalog, body: bytes, locale: RequestLocale) -> PostedResponse:
    """The body read as a QuestionnaireResponse; the locale gains its ``language``."""
    try:
        resource = json_input.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FhirProblem(422, [Issue("structure", "the body must be FHIR JSON", ROOT)]) from exc
    if not isinstance(resource, dict):
        raise FhirProblem(422, [Issue("structure", "the body must be a JSON object", ROOT)])
    canonical = resource.get("questionnaire")
    questionnaire_id, asked_version = (
        questionnaire_id_of(canonical) if isinstance(canonical, str) else (None, None)
    )
    loaded = catalog.get(questionnaire_id) if questionnaire_id else None
    read = read_answers(loaded.definition if loaded else None, resource)
    if isinstance(resource.get("language"), str):
        preferred = resource["language"].split("-")[0].lower()
        locale = dataclasses.replace(locale, header_languages=(preferred, *locale.header_languages))
    # Risk first: whatever is wrong below, the notice goes with the answer.
    notice = _notice(catalog, read.answers, loaded.definition.id if loaded else None, locale)
    if resource.get("resourceType") != ROOT:
        raise FhirProblem(
            422,
            [Issue("structure", f"resourceType must be {ROOT}", f"{ROOT}.resourceType")],
            notice,
        )
    if loaded is None:
        raise _unknown_questionnaire(canonical, notice)
    if asked_version is not None and not scores_version(loaded, asked_version):
        raise FhirProblem(
            409,
            [
                Issue(
                    "business-rule",
                    f"answers version {asked_version}; this service scores "
                    f"{fhir_version_string(loaded)}",
                    f"{ROOT}.questionnaire",
                )
            ],
            notice,
        )
    if read.issues:
        raise FhirProblem(422, read.issues, notice)
    return PostedResponse(loaded, read, notice, locale, str(resource["status"]))
