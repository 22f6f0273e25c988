"""Whether two versions of a definition measure the same: what may change between them.

A definition may declare (``research.same_measure_as``) the content hashes of earlier versions
whose responses research may pool with its own. That is true only when nothing a respondent
answers, or a score is computed from, has changed:

- measurement (must be identical): the id, the languages, every scale with its points and
  anchor labels, every item (id, wording, scale, dimension, keying, order), the dimensions'
  ids, rules, answered fractions and bands, the tendencies' rules, the relationships answered
  about, the wellbeing items and risk rules (research counts crisis levels), and the
  demographic items with their options (research groups by them);
- presentation (may change): ``version``, ``title``, ``estimated_minutes``, ``instructions``,
  ``consent_text``, the wellbeing check's ``title`` and ``instructions``, the labels and
  descriptions of dimensions and tendencies, the ``content`` plan (psychoeducation) and the
  declaration itself.

Same items in the same order also means the same research copy of the answers
(:mod:`scoring.answer_copy`), which the exports decode with the current definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scoring.definition import Definition

PRESENTATION = (
    "version",
    "title",
    "estimated_minutes",
    "instructions",
    "consent_text",
    "content",
    "research",
)
"""Top-level fields that do not take part in measurement."""
WELLBEING_PRESENTATION = ("title", "instructions")
LABELS = {
    "dimensions": ("label", "description"),
    "tendencies": ("label",),
    "target_tendencies": ("label",),
}
"""Per entry of these lists, the fields that only name or describe a score."""

Path = tuple[str | int, ...]


def measurement(definition: Definition) -> dict[str, Any]:
    """Everything of ``definition`` that takes part in measurement, as plain data."""
    document: dict[str, Any] = definition.model_dump(mode="json")
    for name in PRESENTATION:
        document.pop(name, None)
    if document.get("wellbeing") is not None:
        for name in WELLBEING_PRESENTATION:
            document["wellbeing"].pop(name, None)
    for part, names in LABELS.items():
        for entry in document.get(part, ()):
            for name in names:
                entry.pop(name, None)
    return document


def _differences(earlier: object, current: object, path: Path) -> Iterator[Path]:
    if isinstance(earlier, dict) and isinstance(current, dict):
        for key in sorted(earlier.keys() | current.keys()):
            if key not in earlier or key not in current:
                yield (*path, key)
            else:
                yield from _differences(earlier[key], current[key], (*path, key))
    elif isinstance(earlier, list) and isinstance(current, list):
        for index, (a, b) in enumerate(zip(earlier, current, strict=False)):
            yield from _differences(a, b, (*path, index))
        if len(earlier) != len(current):
            yield (*path, min(len(earlier), len(current)))
    elif earlier != current or type(earlier) is not type(current):
        yield path


def first_difference(earlier: Definition, current: Definition) -> Path | None:
    """Where the measurement of two definitions first differs; None when it is the same."""
    return next(_differences(measurement(earlier), measurement(current), ()), None)
