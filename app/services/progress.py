"""How far a response has come."""

from __future__ import annotations

from collections.abc import Mapping

from app.schemas.responses import Progress
from scoring.definition import Definition, per_definition
from scoring.engine import sufficient


@per_definition
def _item_ids(definition: Definition) -> tuple[frozenset[str], frozenset[str]]:
    """The ids of the attachment items and of the wellbeing items."""
    return (
        frozenset(item.id for item in definition.items),
        frozenset(item.id for item in definition.wellbeing_items),
    )


def progress_of(definition: Definition, answers: Mapping[str, int]) -> Progress:
    attachment_ids, wellbeing_ids = _item_ids(definition)
    return Progress(
        answered=len(attachment_ids.intersection(answers)),
        of=len(attachment_ids),
        wellbeing_answered=len(wellbeing_ids.intersection(answers)),
        ready_to_submit=sufficient(definition, answers),
    )
