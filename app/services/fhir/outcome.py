"""OperationOutcome: every FHIR error, each issue naming the item by a FHIRPath expression,
and the crisis notice as a warning issue whenever the answers call for it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.errors import SecureBaseError
from scoring.crisis import CrisisNotice

CRISIS_EXTENSION = "urn:securebase:fhir:crisis-notice"
"""On the warning issue: the whole notice (level, message, resources) as JSON."""

IssueCode = Literal[
    "invalid", "structure", "required", "value", "not-found", "business-rule", "transient"
]


@dataclass(frozen=True, slots=True)
class Issue:
    code: IssueCode
    message: str
    expression: str | None = None


@dataclass
class FhirProblem(Exception):
    """A request a FHIR route cannot answer; rendered as an OperationOutcome."""

    status: int
    issues: Sequence[Issue]
    notice: CrisisNotice | None = field(default=None)


def service_contacts(notice: CrisisNotice) -> list[tuple[str, str]]:
    """Each service of the notice, in its order, with how to reach it: every channel and value,
    and the contact's note where it has one (what to text, which number also works)."""
    return [
        (
            resource.name,
            ", ".join(
                f"{c.channel} {c.value}" + (f" ({c.note})" if c.note else "")
                for c in resource.contacts
            ),
        )
        for resource in notice.resources
    ]


def notice_issue(notice: CrisisNotice) -> dict[str, Any]:
    """The crisis notice as an issue of severity warning: the message readable by any viewer
    of the outcome, every resource in ``details.text``, and the notice itself in an extension."""
    contacts = "; ".join(f"{name}: {ways}" for name, ways in service_contacts(notice))
    return {
        "extension": [
            {"url": CRISIS_EXTENSION, "valueString": json.dumps(notice.model_dump(mode="json"))}
        ],
        "severity": "warning",
        "code": "informational",
        "details": {"text": contacts},
        "diagnostics": notice.message,
    }


def operation_outcome(
    issues: Sequence[Issue], notice: CrisisNotice | None, *, severity: str = "error"
) -> dict[str, Any]:
    rendered: list[dict[str, Any]] = [notice_issue(notice)] if notice is not None else []
    for issue in issues:
        entry: dict[str, Any] = {
            "severity": severity,
            "code": issue.code,
            "diagnostics": issue.message,
        }
        if issue.expression:
            entry["expression"] = [issue.expression]
        rendered.append(entry)
    return {"resourceType": "OperationOutcome", "issue": rendered}


def problem_from(
    exc: SecureBaseError,
    expression_of: Callable[[str], str | None] = lambda item: item,
    notice: CrisisNotice | None = None,
    expression: str | None = None,
) -> FhirProblem:
    """A service's error as a FHIR problem: one issue per field problem, each at the FHIRPath
    ``expression_of`` gives its field, or, when it names no field, its detail at ``expression``
    (so that the first issue names the item at fault wherever there is one)."""
    issues = [Issue("value", p.message, expression_of(p.item)) for p in exc.problems]
    if not issues:
        code: IssueCode = "not-found" if exc.status_code == 404 else "business-rule"
        issues = [Issue(code, exc.detail, expression)]
    return FhirProblem(exc.status_code, issues, notice)
