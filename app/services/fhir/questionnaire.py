"""A definition as a FHIR Questionnaire (R4 or R5).

- ``url`` is the canonical address of the questionnaire's FHIR view; ``version`` is the
  definition's version and content hash (``1.0.0+sha256:...``), so a QuestionnaireResponse
  that names it says exactly which definition it answers.
- Groups: ``attachment`` (required), ``wellbeing`` (optional: ``required: false``) and
  ``demographics`` (optional); each statement is a choice item (R4 ``choice``, R5 ``coding``)
  whose ``answerOption`` codes are the scale's points, with the point as ordinal weight
  (R4 ``ordinalValue``, R5 ``itemWeight`` extension). Like the JSON view, it does not say which
  dimension an item feeds or which items are reverse-keyed. An instrument answered per
  relationship (``targets``) has, inside ``attachment``, one group per relationship
  (``linkId`` = target id) holding its statements (``linkId`` = ``<target>.<item>``).
"""

from __future__ import annotations

import re
from typing import Any

from app.services.fhir.versions import FhirVersion
from scoring.definition import Definition, Localized, ResponseScale
from scoring.loading import LoadedDefinition

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ATTACHMENT, WELLBEING, DEMOGRAPHICS = "attachment", "wellbeing", "demographics"
_CANONICAL = re.compile(r"/questionnaires/([a-z0-9][a-z0-9_.-]{0,63})/fhir$")


def canonical_url(base_url: str, questionnaire_id: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/questionnaires/{questionnaire_id}/fhir"


def questionnaire_id_of(canonical: str) -> tuple[str | None, str | None]:
    """The questionnaire id and the version a canonical reference (``url|version``) names."""
    url, _, version = canonical.partition("|")
    match = _CANONICAL.search(url)
    return (match.group(1) if match else None), (version or None)


def fhir_version_string(loaded: LoadedDefinition) -> str:
    return f"{loaded.definition.version}+{loaded.content_hash}"


def scores_version(loaded: LoadedDefinition, asked: str) -> bool:
    """Whether answers to the FHIR version ``asked`` are scored as ``loaded`` scores them:
    its own version, or any version whose content hash it declares measures the same (a
    stored response read as FHIR names the version it was scored with, and posting it back
    scores identically)."""
    if asked == fhir_version_string(loaded):
        return True
    _, plus, content_hash = asked.rpartition("+")
    return bool(plus) and content_hash in loaded.definition.same_measure_as


def code_system(questionnaire_id: str, scale: str) -> str:
    return f"urn:securebase:{questionnaire_id}:scale:{scale}"


def demographic_system(questionnaire_id: str, item_id: str) -> str:
    return f"urn:securebase:{questionnaire_id}:options:{item_id}"


def _text(text: Localized, language: str) -> str:
    return text.get(language) or text.get("en") or next(iter(text.values()))


def _name(questionnaire_id: str) -> str:
    words = re.split(r"[^A-Za-z0-9]+", questionnaire_id)
    name = "".join(word[:1].upper() + word[1:] for word in words if word)
    return name if name[:1].isalpha() else f"Q{name}"


def _option(
    version: FhirVersion, system: str, code: str, display: str, weight: int
) -> dict[str, Any]:
    return {
        "extension": [
            {"url": ORDINAL_VALUE if version == "4.0" else ITEM_WEIGHT, "valueDecimal": weight}
        ],
        "valueCoding": {"system": system, "code": code, "display": display},
    }


def _choice(version: FhirVersion, link_id: str, text: str, options: list[Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": link_id,
        "text": text,
        "type": "choice" if version == "4.0" else "coding",
        "required": False,
        "repeats": False,
        "answerOption": options,
    }
    if version == "5.0":
        item["answerConstraint"] = "optionsOnly"
    return item


def _scale_options(
    version: FhirVersion, definition: Definition, scale_name: str, language: str
) -> list[dict[str, Any]]:
    scale: ResponseScale = definition.scales[scale_name]
    labels = scale.labels.get(language) or next(iter(scale.labels.values()))
    system = code_system(definition.id, scale_name)
    return [
        _option(version, system, str(point), label, point)
        for point, label in zip(range(scale.min, scale.max + 1), labels, strict=True)
    ]


def _statements(version: FhirVersion, definition: Definition, language: str) -> list[Any]:
    """The attachment statements; for an instrument answered per relationship, one group per
    relationship (``linkId`` = target id, text = its label) holding that relationship's."""
    choices = [
        (
            item.target,
            _choice(
                version,
                item.id,
                _text(item.text, language),
                _scale_options(version, definition, item.scale, language),
            ),
        )
        for item in definition.items
    ]
    if not definition.targets:
        return [choice for _, choice in choices]
    return [
        {
            "linkId": target.id,
            "text": _text(target.label, language),
            "type": "group",
            "required": True,
            "item": [choice for of, choice in choices if of == target.id],
        }
        for target in definition.targets
    ]


def build_questionnaire(
    loaded: LoadedDefinition, version: FhirVersion, language: str, base_url: str
) -> dict[str, Any]:
    definition = loaded.definition
    groups: list[dict[str, Any]] = [
        {
            "linkId": ATTACHMENT,
            "text": _text(definition.instructions, language),
            "type": "group",
            "required": True,
            "item": _statements(version, definition, language),
        }
    ]
    if definition.wellbeing is not None:
        groups.append(
            {
                "linkId": WELLBEING,
                "text": _text(definition.wellbeing.title, language),
                "type": "group",
                "required": False,
                "item": [
                    {
                        "linkId": f"{WELLBEING}-instructions",
                        "text": _text(definition.wellbeing.instructions, language),
                        "type": "display",
                    },
                    *(
                        _choice(
                            version,
                            w_item.id,
                            _text(w_item.text, language),
                            _scale_options(version, definition, w_item.scale, language),
                        )
                        for w_item in definition.wellbeing.items
                    ),
                ],
            }
        )
    if definition.demographics:
        groups.append(
            {
                "linkId": DEMOGRAPHICS,
                "text": "Demographics (optional)",
                "type": "group",
                "required": False,
                "item": [
                    _choice(
                        version,
                        d_item.id,
                        _text(d_item.text, language),
                        [
                            _option(
                                version,
                                demographic_system(definition.id, d_item.id),
                                option.id,
                                _text(option.label, language),
                                place,
                            )
                            for place, option in enumerate(d_item.options, start=1)
                        ],
                    )
                    for d_item in definition.demographics
                ],
            }
        )
    return {
        "resourceType": "Questionnaire",
        "language": language,
        "url": canonical_url(base_url, definition.id),
        "identifier": [{"system": "urn:securebase:questionnaire", "value": definition.id}],
        "version": fhir_version_string(loaded),
        "name": _name(definition.id),
        "title": _text(definition.title, language),
        "status": "active",
        "description": _text(definition.instructions, language),
        "item": groups,
        "subjectType": ["Patient"],
    }
