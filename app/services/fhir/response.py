"""QuestionnaireResponse in both directions: read one into answers (every problem with the
FHIRPath of its item), and write a stored response as one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.schemas.responses import ResponseView
from app.services.fhir.carried_notice import with_notice
from app.services.fhir.outcome import Issue
from app.services.fhir.questionnaire import (
    ATTACHMENT,
    DEMOGRAPHICS,
    WELLBEING,
    canonical_url,
    code_system,
    demographic_system,
)
from app.services.fhir.versions import FhirVersion
from scoring.crisis import CrisisNotice
from scoring.definition import Definition
from scoring.loading import LoadedDefinition

ROOT = "QuestionnaireResponse"
ACCEPTED_STATUSES = ("in-progress", "completed", "amended")


@dataclass
class ReadAnswers:
    """Answers as the scoring services take them (values read generously, so that risk is
    screened on whatever was sent), where each item was found, and what could not be read."""

    answers: dict[str, object] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def expression(self, item_id: str) -> str:
        return self.where.get(item_id, f"{ROOT}.item.where(linkId='{item_id}')")


def _coded_value(definition: Definition | None, item_id: str, answer: Mapping[str, Any]) -> object:
    """The answer as the API would carry it: the scale point, or a demographic option's
    position; what is not one of the options is passed on as sent, to be refused by name."""
    if "valueInteger" in answer:
        return answer["valueInteger"]
    coding = answer.get("valueCoding")
    if not isinstance(coding, dict):
        return next((v for k, v in answer.items() if k.startswith("value")), None)
    code = coding.get("code")
    demographic = definition.demographic(item_id) if definition is not None else None
    if demographic is not None:
        for place, option in enumerate(demographic.options, start=1):
            if option.id == code:
                return place
        return code
    if isinstance(code, str) and code.lstrip("-").isdigit() and len(code) < 12:
        return int(code)
    return code


def _answer_system(definition: Definition, item_id: str) -> str | None:
    """The code system of the item's answer options; None for an item the definition lacks."""
    if definition.demographic(item_id) is not None:
        return demographic_system(definition.id, item_id)
    scales = {i.id: i.scale for i in definition.items}
    scales.update({w.id: w.scale for w in definition.wellbeing_items})
    return code_system(definition.id, scales[item_id]) if item_id in scales else None


def _foreign_system(definition: Definition | None, item_id: str, answer: Mapping[str, Any]) -> str:
    """Why a coded answer is from outside the item's answerOption ("" when it is not): a
    code is read in the system of the item's options, and a coding that names another system
    is not that code (a LOINC answer "3" is not point 3 of this scale)."""
    coding = answer.get("valueCoding")
    system = coding.get("system") if isinstance(coding, dict) else None
    expected = _answer_system(definition, item_id) if definition is not None else None
    if system is None or expected is None or system == expected:
        return ""
    return f"not one of the item's answer options: their system is {expected}"


def read_answers(definition: Definition | None, resource: Mapping[str, Any]) -> ReadAnswers:
    """Answers by linkId, from any depth of groups; ``definition`` (None when the questionnaire
    is unknown) says which items are demographic, answered by option code."""
    read = ReadAnswers()

    def walk(items: object, path: str) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            read.issues.append(Issue("structure", "item must be a list", path))
            return
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("linkId"), str):
                read.issues.append(Issue("required", "every item needs a linkId", path))
                continue
            link_id: str = item["linkId"]
            where = f"{path}.where(linkId='{link_id}')"
            walk(item.get("item"), f"{where}.item")
            answers = item.get("answer")
            if answers is None:
                continue
            if not isinstance(answers, list) or len(answers) != 1:
                read.issues.append(Issue("value", "exactly one answer is expected", where))
                continue
            answer = answers[0]
            if not isinstance(answer, dict):
                read.issues.append(Issue("structure", "an answer must be an object", where))
                continue
            walk(answer.get("item"), f"{where}.answer.item")
            if link_id in read.answers:
                read.issues.append(Issue("value", f"{link_id!r} is answered twice", where))
                continue
            read.answers[link_id] = _coded_value(definition, link_id, answer)
            read.where[link_id] = where
            foreign = _foreign_system(definition, link_id, answer)
            if foreign:
                read.issues.append(Issue("value", foreign, where))

    walk(resource.get("item"), f"{ROOT}.item")
    status = resource.get("status")
    if status not in ACCEPTED_STATUSES:
        read.issues.append(
            Issue(
                "value",
                f"status must be one of {', '.join(ACCEPTED_STATUSES)}",
                f"{ROOT}.status",
            )
        )
    return read


def response_url(base_url: str, response_id: str) -> str:
    """Where a stored response is read as a QuestionnaireResponse (with its token)."""
    return f"{base_url.rstrip('/')}/api/v1/responses/{response_id}/fhir"


def _answer_item(
    definition: Definition, item_id: str, value: int, labels: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    demographic = definition.demographic(item_id)
    if demographic is not None:
        option = demographic.option_at(value)
        code = option.id if option is not None else str(value)
        system = demographic_system(definition.id, item_id)
        display = None
    else:
        scales = {i.id: i.scale for i in definition.items}
        scales.update({w.id: w.scale for w in definition.wellbeing_items})
        scale_name = scales[item_id]
        scale = definition.scales[scale_name]
        code, system = str(value), code_system(definition.id, scale_name)
        texts = labels.get(scale_name, ())
        display = texts[value - scale.min] if 0 <= value - scale.min < len(texts) else None
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"linkId": item_id, "answer": [{"valueCoding": coding}]}


def stored_response(
    view: ResponseView,
    loaded: LoadedDefinition,
    base_url: str,
    version: FhirVersion,
    notice: CrisisNotice | None = None,
) -> dict[str, Any]:
    """A stored response as a QuestionnaireResponse naming the definition it was scored with,
    carrying the crisis notice (``notice``, else the one read with the response) when there
    is one (:mod:`app.services.fhir.carried_notice`)."""
    definition = loaded.definition
    labels = {
        name: scale.labels.get(view.language) or next(iter(scale.labels.values()))
        for name, scale in definition.scales.items()
    }
    groups = (
        (ATTACHMENT, [i.id for i in definition.items]),
        (WELLBEING, [w.id for w in definition.wellbeing_items]),
        (DEMOGRAPHICS, [d.id for d in definition.demographics]),
    )
    items: list[dict[str, Any]] = [
        {
            "linkId": link_id,
            "item": [
                _answer_item(definition, item_id, view.answers[item_id], labels)
                for item_id in ids
                if item_id in view.answers
            ],
        }
        for link_id, ids in groups
        if any(item_id in view.answers for item_id in ids)
    ]
    if definition.targets and items and items[0]["linkId"] == ATTACHMENT:
        # As the Questionnaire: one group per relationship inside the attachment group.
        answered = items[0]["item"]
        of = {i.id: i.target for i in definition.items}
        items[0]["item"] = [
            {"linkId": target.id, "item": own}
            for target in definition.targets
            if (own := [a for a in answered if of[a["linkId"]] == target.id])
        ]
    authored: dt.datetime = view.submitted_at or view.updated_at
    canonical = canonical_url(base_url, view.questionnaire.id)
    scored_with = f"{view.questionnaire.version}+{view.questionnaire.hash}"
    identifier = {"system": "urn:securebase:response", "value": view.response_id}
    resource = {
        "resourceType": ROOT,
        # R4 allows one identifier, R5 a list.
        "identifier": identifier if version == "4.0" else [identifier],
        "questionnaire": f"{canonical}|{scored_with}",
        "status": "completed" if view.status == "submitted" else "in-progress",
        "authored": authored.isoformat(),
        "language": view.language,
        "item": items,
    }
    return with_notice(resource, notice or view.crisis)
