"""How far a response has come."""

from __future__ import annotations

from collections.abc import Mapping

from app.schemas.responses import Progress
from scoring.definition import Definition, per_definition
from scoring.submitting import submittable


@per_definition
def _item_ids(definition: Definition) -> tuple[frozenset[str], frozenset[str]]:
    """The ids of the attachment items and of the wellbeing items."""
    return (
        frozenset(item.id for item in definition.items),
        frozenset(item.id for item in definition.wellbeing_items),
    )


_KEPT = 4096
_kept: dict[tuple[int, int, int, bool], Progress] = {}
"""Progress by its four numbers: a progress is immutable and the same few recur, so each is
made (and validated) once; emptied when full."""


def progress_of(
    definition: Definition, answers: Mapping[str, int], *, ready: bool | None = None
) -> Progress:
    """``ready`` is whether the answers may be submitted (:mod:`scoring.submitting`), when the
    caller already knows (a submission that was scored); otherwise it is worked out here."""
    attachment_ids, wellbeing_ids = _item_ids(definition)
    key = (
        len(attachment_ids.intersection(answers)),
        len(attachment_ids),
        len(wellbeing_ids.intersection(answers)),
        submittable(definition, answers) if ready is None else ready,
    )
    progress = _kept.get(key)
    if progress is None:
        if len(_kept) >= _KEPT:
            _kept.clear()
        answered, of, wellbeing_answered, ready_to_submit = key
        progress = _kept[key] = Progress(
            answered=answered,
            of=of,
            wellbeing_answered=wellbeing_answered,
            ready_to_submit=ready_to_submit,
        )
    return progress
