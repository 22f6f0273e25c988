"""Scoring many answer sets in one request, each exactly as the single ``/score`` would.

A row is validated as a ``ScoreRequest`` and scored by the same service function as the
single endpoint. A row that cannot be scored becomes its own problems, ``{"errors": [...]}``,
with the crisis notice its answers call for: one bad row never fails the others, and a
rejected row still shows help. Nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.errors import FieldProblem, InvalidInput
from app.schemas.responses import ScoreRequest
from app.services.locale import RequestLocale
from app.services.notices import crisis_notice
from app.services.questionnaires import score_stateless
from app.services.screening import screen_body
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.loading import LoadedDefinition
from scoring.risk import strongest

MAX_BATCH_ROWS = 10_000
"""Rows one JSON batch may hold; NDJSON streams have no row limit, only the body limit."""

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def _field(location: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in location) or "row"


def validation_problems(exc: ValidationError) -> list[FieldProblem]:
    return [FieldProblem(_field(err["loc"]), err["msg"]) for err in exc.errors()]


@dataclass(frozen=True, slots=True)
class BatchScorer:
    """Scores rows for one questionnaire with the request's locale."""

    catalog: Catalog
    loaded: LoadedDefinition
    locale: RequestLocale

    def score_row(self, row: object) -> dict[str, Any]:
        """One row's answer: the result as ``/score`` returns it, or the row's problems."""
        if not isinstance(row, dict):
            return self._rejected(
                {}, [FieldProblem("row", "must be an object with answers, lang?, country?")]
            )
        try:
            request = ScoreRequest.model_validate(row)
        except ValidationError as exc:
            return self._rejected(row, validation_problems(exc))
        try:
            result = score_stateless(self.catalog, self.loaded, request, self.locale)
        except InvalidInput as exc:
            return self._rejected(row, list(exc.problems))
        return result.model_dump(mode="json")

    def strongest_notice(self, rows: Sequence[object]) -> CrisisNotice | None:
        """The notice the riskiest row calls for: a batch refused as a whole still shows help."""
        risk = strongest(
            self.catalog.screen(row["answers"], self.loaded.definition.id)
            for row in rows
            if isinstance(row, dict) and isinstance(row.get("answers"), dict)
        )
        return crisis_notice(
            self.catalog,
            risk,
            self.locale.country(),
            next(iter(self.locale.header_languages), "en"),
        )

    def _rejected(self, row: dict[str, Any], problems: list[FieldProblem]) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "errors": [{"item": p.item, "message": p.message} for p in problems]
        }
        country = row.get("country")
        lang = row.get("lang")
        notice = screen_body(
            self.catalog,
            row,
            path_questionnaire_id=self.loaded.definition.id,
            country=self.locale.with_explicit(
                country if isinstance(country, str) and _COUNTRY.fullmatch(country) else None, None
            ).country(),
            language=lang
            if isinstance(lang, str)
            else next(iter(self.locale.header_languages), "en"),
        )
        if notice is not None:
            answer["crisis"] = notice.model_dump(mode="json")
        return answer
