"""A result for an EHR: a Bundle of Observations (one per dimension score, one for the primary
tendency), in the manner of SDC observation extraction, plus the result exactly as
``POST .../score`` returns it (a Binary of ``application/json``) and, when the answers call for
it, the crisis notice as an OperationOutcome warning."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

from app.services.fhir.outcome import operation_outcome
from scoring.result import ScoreResult

SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
RESULT_MEDIA_TYPE = "application/json"


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"coding": [coding], "text": display or code}


def bundle_entry(resource: dict[str, Any]) -> dict[str, Any]:
    """An entry of a collection Bundle: the resource under a fresh ``urn:uuid``."""
    return {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": resource}


def _dimension_observations(result: ScoreResult, status: str, issued: str) -> list[dict[str, Any]]:
    questionnaire = result.questionnaire.id
    observations = []
    for dimension_id, score in result.scores.items():
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "status": status,
            "category": [SURVEY],
            "code": _concept(
                f"urn:securebase:{questionnaire}:dimension", dimension_id, score.label
            ),
            "issued": issued,
            "component": [
                {
                    "code": _concept("urn:securebase:score-detail", "answered"),
                    "valueInteger": score.answered,
                },
                {
                    "code": _concept("urn:securebase:score-detail", "of"),
                    "valueInteger": score.of,
                },
                {
                    "code": _concept("urn:securebase:score-detail", "borderline"),
                    "valueBoolean": score.borderline,
                },
            ],
        }
        if score.mean is None:
            observation["dataAbsentReason"] = {
                "coding": [{"system": DATA_ABSENT, "code": "unknown"}],
                "text": f"{score.answered} of {score.of} answered; {score.needed} needed",
            }
        else:
            observation["valueQuantity"] = {"value": score.mean, "unit": "score"}
            observation["interpretation"] = [
                _concept("urn:securebase:band", score.band or "unknown")
            ]
        observations.append(observation)
    tendency: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "category": [SURVEY],
        "code": _concept(f"urn:securebase:{questionnaire}:result", "primary-tendency"),
        "issued": issued,
    }
    if result.primary_tendency is None:
        tendency["dataAbsentReason"] = {
            "coding": [{"system": DATA_ABSENT, "code": "unknown"}],
            "text": result.summary,
        }
    else:
        tendency["valueCodeableConcept"] = _concept(
            "urn:securebase:tendency", result.primary_tendency
        )
    tendency["note"] = [{"text": result.disclaimer}]
    return [*observations, tendency]


def result_bundle(result: ScoreResult, *, final: bool) -> dict[str, Any]:
    issued = dt.datetime.now(dt.UTC).isoformat()
    payload = json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode()
    entries = [
        bundle_entry(resource)
        for resource in _dimension_observations(result, "final" if final else "preliminary", issued)
    ]
    entries.append(
        bundle_entry(
            {
                "resourceType": "Binary",
                "contentType": RESULT_MEDIA_TYPE,
                "data": base64.b64encode(payload).decode(),
            }
        )
    )
    if result.crisis is not None:
        entries.insert(0, bundle_entry(operation_outcome([], result.crisis)))
    return {"resourceType": "Bundle", "type": "collection", "timestamp": issued, "entry": entries}
