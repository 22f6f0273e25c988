"""The risk seen in a body's pairs, remembered for the next body with the same pairs.

Screening (``app.services.screening.screen_pairs``) is a pure function of the pairs that name
a risk item, the questionnaire named and the catalog, and the same few pairs arrive again and
again: five wellbeing answers, each one of a few values. Pairs whose values are plain JSON
scalars are looked up first; anything else (a list, an object, a long text), and every first
sight of a combination, is screened as before. The memory is bounded: when it is full it is
emptied and fills again with what arrives.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.services.screening import screen_pairs
from scoring.catalog import Catalog
from scoring.risk import RiskAssessment

MAX_REMEMBERED = 4096
MAX_PAIRS = 32
MAX_TEXT = 64
_SCALARS = (bool, int, float, str, type(None))

Pairs = Sequence[tuple[str, object]]
_Key = tuple[str | None, tuple[tuple[str, type, object], ...]]


class RememberedScreening:
    def __init__(self, capacity: int = MAX_REMEMBERED) -> None:
        self.capacity = capacity
        self._catalog: Catalog | None = None
        self._seen: dict[_Key, RiskAssessment] = {}

    def screen(
        self, catalog: Catalog, pairs: Pairs, questionnaire_id: str | None
    ) -> RiskAssessment:
        """What ``screen_pairs`` answers for these arguments."""
        if catalog is not self._catalog:
            self._catalog = catalog
            self._seen.clear()
        key = _key(pairs, questionnaire_id)
        if key is None:
            return screen_pairs(catalog, pairs, questionnaire_id)
        seen = self._seen.get(key)
        if seen is None:
            seen = screen_pairs(catalog, pairs, questionnaire_id)
            if len(self._seen) >= self.capacity:
                self._seen.clear()
            self._seen[key] = seen
        return seen


def _key(pairs: Pairs, questionnaire_id: str | None) -> _Key | None:
    """The pairs as a key, each value with its type (``1``, ``1.0``, ``True`` and ``"1"`` stay
    apart); None when a value is not a short scalar or there are too many pairs."""
    if len(pairs) > MAX_PAIRS:
        return None
    key: list[tuple[str, type, object]] = []
    for name, value in pairs:
        if not isinstance(value, _SCALARS) or (isinstance(value, str) and len(value) > MAX_TEXT):
            return None
        key.append((name, type(value), value))
    return questionnaire_id, tuple(key)
