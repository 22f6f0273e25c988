"""How far a response has come."""

from __future__ import annotations

from collections.abc import Mapping

from app.schemas.responses import Progress
from scoring.definition import Definition
from scoring.engine import score_dimensions


def progress_of(definition: Definition, answers: Mapping[str, int]) -> Progress:
    attachment_ids = {item.id for item in definition.items}
    wellbeing_ids = {item.id for item in definition.wellbeing_items}
    return Progress(
        answered=sum(1 for item_id in answers if item_id in attachment_ids),
        of=len(attachment_ids),
        wellbeing_answered=sum(1 for item_id in answers if item_id in wellbeing_ids),
        ready_to_submit=all(d.sufficient for d in score_dimensions(definition, answers).values()),
    )
