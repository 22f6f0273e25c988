"""FHIR resources as the OpenAPI document describes them: JSON objects named by
``resourceType``, validated against the FHIR specification by FHIR tooling, not here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FhirResource(BaseModel):
    """Any FHIR resource (Questionnaire, QuestionnaireResponse, Bundle, OperationOutcome)."""

    model_config = ConfigDict(extra="allow")

    resourceType: str  # noqa: N815 - FHIR's own field name
