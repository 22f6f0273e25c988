"""The crisis notice carried by a resource that is not itself an answer about the request: a
stored response read back as a QuestionnaireResponse.

FHIR's read answers with the resource alone, so the notice travels inside it, in two standard
places, each valid FHIR:

- for software, the OperationOutcome warning every other FHIR answer of this service carries
  (:func:`app.services.fhir.outcome.notice_issue`), as a ``contained`` resource; the resource
  refers to it by the extension :data:`NOTICE_REFERENCE` (a ``valueReference`` to
  ``#crisis-notice``), which is also what FHIR's rule dom-3 asks of a contained resource;
- for people, the narrative (``text``, status ``generated``): the message and every service
  with its contacts, then the answers, which EHR viewers show even when they ignore
  extensions and contained resources.
"""

from __future__ import annotations

from html import escape
from typing import Any

from app.services.fhir.outcome import operation_outcome, service_contacts
from scoring.crisis import CrisisNotice

NOTICE_ID = "crisis-notice"
NOTICE_REFERENCE = "urn:securebase:fhir:crisis-notice-outcome"
"""On a resource: a ``valueReference`` to its contained OperationOutcome holding the notice."""
XHTML = "http://www.w3.org/1999/xhtml"


def _answer_lines(items: object) -> list[str]:
    """Each answer as ``linkId: display (code)``, in order, from any depth of groups."""
    lines: list[str] = []
    for item in items if isinstance(items, list) else []:
        for answer in item.get("answer", []):
            coding = answer.get("valueCoding", {})
            code, display = coding.get("code"), coding.get("display")
            lines.append(
                f"{item['linkId']}: {display} ({code})" if display else f"{item['linkId']}: {code}"
            )
        lines += _answer_lines(item.get("item"))
    return lines


def _narrative(notice: CrisisNotice, items: object) -> str:
    """The notice first (its message, then each service with its contacts), then the answers,
    so that a viewer that shows only the narrative shows the whole response."""
    services = "".join(
        f"<li><b>{escape(name)}</b>: {escape(ways)}</li>" for name, ways in service_contacts(notice)
    )
    answers = "".join(f"<li>{escape(line)}</li>" for line in _answer_lines(items))
    return (
        f'<div xmlns="{XHTML}"><p><b>{escape(notice.message)}</b></p><ul>{services}</ul>'
        + (f"<ul>{answers}</ul>" if answers else "")
        + "</div>"
    )


def with_notice(resource: dict[str, Any], notice: CrisisNotice | None) -> dict[str, Any]:
    """``resource`` carrying ``notice``; unchanged (the same keys, in the same order) without
    one. The notice comes first after ``resourceType``, as it does in every other answer."""
    if notice is None:
        return resource
    outcome = {"id": NOTICE_ID, **operation_outcome([], notice)}
    outcome = {"resourceType": outcome.pop("resourceType"), **outcome}
    pointer = {
        "url": NOTICE_REFERENCE,
        "valueReference": {"reference": f"#{NOTICE_ID}", "type": "OperationOutcome"},
    }
    rest = {k: v for k, v in resource.items() if k not in ("resourceType", "extension")}
    return {
        "resourceType": resource["resourceType"],
        "text": {"status": "generated", "div": _narrative(notice, resource.get("item"))},
        "contained": [outcome],
        "extension": [pointer, *resource.get("extension", [])],
        **rest,
    }
