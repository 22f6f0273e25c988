"""What the research queries are asked and what they answer: which responses an export covers
(:class:`ResponseFilter`), what its groups are formed by, the scoring rules packed for counting
(:class:`PackedDimension`), and the exact sums the item statistics come from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import LargeBinary, or_, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from app.models import ResponseSession, ResponseStatus
from app.models.columns import content_hash_bytes
from scoring import answer_copy

if TYPE_CHECKING:  # numpy is imported when responses are counted, not when the app starts
    import numpy as np
    import numpy.typing as npt

GroupBy = Literal["study", "language", "country", "tendency"]
"""The columns of a response an export can group by."""
GroupKey = str | None

_table = ResponseSession.__table__.c  # type: ignore[attr-defined]
GROUP_COLUMNS: dict[GroupBy, ColumnElement[Any]] = {
    "study": _table.study,
    "language": _table.language,
    "country": _table.country,
    "tendency": _table.primary_tendency,
}
"""The column of a response each :data:`GroupBy` groups by."""


@dataclass(frozen=True, slots=True)
class DemographicGroups:
    """Grouping by the answer to a demographic item: its byte in the research copy is 0 when
    it was not answered (the group without a value), otherwise the chosen option's position
    counted from 1; each group is named by its option's id."""

    item_id: str
    position: int
    option_ids: tuple[str, ...]

    def key(self, place: int) -> GroupKey:
        try:
            option = answer_copy.option_of(place, len(self.option_ids))
        except ValueError as error:
            raise ValueError(f"{self.item_id}: {error}") from None
        return None if option is None else self.option_ids[option]


Grouping = GroupBy | DemographicGroups
"""What an export's groups are formed by."""


@dataclass(frozen=True, slots=True)
class ResponseFilter:
    """Which responses an export covers (all conditions together)."""

    questionnaire_id: str
    questionnaire_hash: str
    """The content hash the questionnaire is scored with today."""
    same_measure_as: tuple[str, ...] = ()
    """Content hashes of earlier versions its definition declares measure the same
    (``research.same_measure_as``): their responses are covered too."""
    studies: tuple[str, ...] | None = None
    """``None``: every response whatever its study (or none); otherwise only these studies."""
    excluded_studies: tuple[str, ...] = ()
    """Studies left out even when ``studies`` is ``None``."""
    submitted_from: dt.datetime | None = None
    """Inclusive lower bound of the submission time (UTC)."""
    submitted_before: dt.datetime | None = None
    """Exclusive upper bound of the submission time (UTC)."""

    @property
    def content_hashes(self) -> tuple[str, ...]:
        """Every content hash a covered response may have been scored with, current first."""
        return (self.questionnaire_hash, *self.same_measure_as)

    def per_hash(self) -> tuple[ResponseFilter, ...]:
        """This filter once per content hash it covers, each with that hash alone (the
        current one first). What together they cover is what this filter covers; a query
        that needs the research index's order, such as the first and last submission time
        from the index's ends, keeps it only with one hash on PostgreSQL 15, where an IN
        list makes it read every covered entry instead (about 0.2 s at a million)."""
        return tuple(
            replace(self, questionnaire_hash=value, same_measure_as=())
            for value in self.content_hashes
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        # The stored bytes themselves: on PostgreSQL the exports stream rows with the
        # driver's cursor, which does not run a column type's conversion of parameters.
        hashes = [
            type_coerce(content_hash_bytes(value), LargeBinary) for value in self.content_hashes
        ]
        conditions: list[ColumnElement[bool]] = [
            _table.questionnaire_id == self.questionnaire_id,
            # One hash is an equality, several an IN list: either way the research index
            # (questionnaire, hash, consent, status, time, ...) is searched, once per hash.
            _table.questionnaire_hash == hashes[0]
            if len(hashes) == 1
            else _table.questionnaire_hash.in_(hashes),
            _table.research_consent.is_(True),
            _table.status == ResponseStatus.submitted.value,
            _table.research_answers.is_not(None),
        ]
        if self.studies is not None:
            conditions.append(_table.study.in_(self.studies))
        if self.excluded_studies:
            conditions.append(
                or_(_table.study.is_(None), _table.study.not_in(self.excluded_studies))
            )
        if self.submitted_from is not None:
            conditions.append(_table.submitted_at >= self.submitted_from)
        if self.submitted_before is not None:
            conditions.append(_table.submitted_at < self.submitted_before)
        return conditions


@dataclass(frozen=True, slots=True)
class ScoredItem:
    """An item as the scoring rules see it: where its byte is in the research copy, its
    scale and whether it is reverse-keyed."""

    id: str
    position: int
    reverse: bool
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class PackedDimension:
    """One dimension, and its answers packed into one integer per response.

    Each answered item adds ``keyed - floor + base``, an unanswered item adds 0, where
    ``floor`` is the lowest point of any of the dimension's scales and ``base`` exceeds the
    largest possible sum of ``keyed - floor``. So ``code // base`` is the number of items
    answered and ``code % base + floor * answered`` the sum of the keyed answers: one integer
    carries both, and counting equal codes is exact.
    """

    id: str
    items: tuple[ScoredItem, ...]
    needed: int
    """The fewest items answered for the dimension to be scored."""

    @property
    def floor(self) -> int:
        return min(item.low for item in self.items)

    @property
    def base(self) -> int:
        return sum(item.high - self.floor for item in self.items) + 1

    def code(
        self, keyed_sum: npt.NDArray[np.int64], answered: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """The codes of many responses at once."""
        return answered * self.base + keyed_sum - self.floor * answered

    def decode(self, code: int) -> tuple[int, int]:
        """``(sum of keyed answers, number of items answered)`` of a packed code."""
        answered, rest = divmod(int(code), self.base)
        return rest + self.floor * answered, answered


@dataclass(frozen=True, slots=True)
class CompleteCaseSums:
    """Sums over the responses that answered every item of a dimension (keyed values).

    ``item_sums[i] = sum x_i``, ``item_squares[i] = sum x_i^2``, ``item_total[i] = sum x_i T``
    where ``T`` is the sum of the dimension's keyed items.
    """

    n: int
    item_sums: tuple[int, ...]
    item_squares: tuple[int, ...]
    item_total: tuple[int, ...]
    total: int
    total_squares: int


@dataclass(frozen=True, slots=True)
class ScoreSums:
    """Exact integer sums behind the correlations of the dimension scores, over the responses
    scored on every dimension. A score is ``S_d / C_d`` (keyed sum over items answered), so
    the sums are kept per number answered: ``sums[d][c] = (sum S_d, sum S_d^2)`` over those
    with ``C_d = c``, and ``products[(a, b)][(ca, cb)] = sum S_a S_b`` over those with
    ``C_a = ca`` and ``C_b = cb``."""

    n: int
    sums: tuple[dict[int, tuple[int, int]], ...]
    products: dict[tuple[int, int], dict[tuple[int, int], int]]


@dataclass(frozen=True, slots=True)
class ItemTallies:
    """Per item, how often each point of its scale was chosen (the raw answer, not keyed); per
    dimension, the complete-case sums; and the sums for the correlations of the scores."""

    n: int
    answers: dict[str, dict[int, int]]
    complete: dict[str, CompleteCaseSums]
    scores: ScoreSums
