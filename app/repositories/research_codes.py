"""Each dimension's packed code, stored with a submitted response beside its research copy.

The exports count responses per packed code (:class:`PackedDimension`: the number of items
answered and the sum of their keyed answers in one integer). Decoding a research copy into
its codes costs a lookup per item for every response of every export; the codes are fixed
once the response is submitted, so they are computed then, from the research copy itself
(:func:`stored_codes`), and stored in ``response_session.research_codes``: ``width`` bytes
per dimension (big-endian), in the definition's order, where ``width`` is 2 unless some
dimension's codes need 4 (:func:`code_width`). The PostgreSQL exports then count a
substring of that column instead of computing each code from the copy's bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.repositories.research_scope import PackedDimension, ScoredItem
from scoring import answer_copy
from scoring.definition import Definition
from scoring.engine import needed_answers


def packed_dimensions(definition: Definition) -> tuple[PackedDimension, ...]:
    """The scoring rules as the research queries need them, in the definition's order."""
    return tuple(
        PackedDimension(
            id=dimension.id,
            needed=needed_answers(
                len(definition.items_of(dimension.id)), dimension.min_answered_fraction
            ),
            items=tuple(
                ScoredItem(
                    id=item.id,
                    position=answer_copy.position_of(definition, item.id),
                    reverse=item.reverse,
                    low=definition.scales[item.scale].min,
                    high=definition.scales[item.scale].max,
                )
                for item in definition.items_of(dimension.id)
            ),
        )
        for dimension in definition.dimensions
    )


def code_width(dimensions: Sequence[PackedDimension]) -> int:
    """Bytes per stored code: 2 when every dimension's codes are below 65,536, else 4."""
    largest = max((d.base * (len(d.items) + 1) - 1 for d in dimensions), default=0)
    return 2 if largest < 1 << 16 else 4


def stored_codes(dimensions: Sequence[PackedDimension], copy: bytes) -> bytes:
    """The packed code of every dimension of ``copy`` (a research copy), :func:`code_width`
    bytes each: what the exports' decoding of the copy gives, item by item."""
    return Coder(dimensions).codes(copy)


class Coder:
    """What each item adds to its dimension's code for each byte of the copy (0 when not
    answered; ``keyed - floor + base`` when answered, reverse keying ``low + high - x`` as
    in the scoring engine), worked out once per questionnaire version."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        self.width = code_width(dimensions)
        self.tables: list[list[tuple[int, tuple[int, ...]]]] = []
        for dimension in dimensions:
            floor, base = dimension.floor, dimension.base
            items = []
            for item in dimension.items:
                added = [0] * (item.high - item.low + answer_copy.FIRST_PLACE + 1)
                for place in range(answer_copy.FIRST_PLACE, len(added)):
                    answer = place - answer_copy.FIRST_PLACE + item.low
                    keyed = item.low + item.high - answer if item.reverse else answer
                    added[place] = keyed - floor + base
                items.append((item.position, tuple(added)))
            self.tables.append(items)

    def codes(self, copy: bytes) -> bytes:
        width = self.width
        return b"".join(
            sum(added[copy[position]] for position, added in items).to_bytes(width, "big")
            for items in self.tables
        )


_coders: dict[str, Coder] = {}


def codes_of(content_hash: str, definition: Definition, copy: bytes) -> bytes:
    """:func:`stored_codes` of a research copy of ``definition`` (whose content hash is
    ``content_hash``), its tables worked out once per content hash."""
    coder = _coders.get(content_hash)
    if coder is None:
        coder = _coders[content_hash] = Coder(packed_dimensions(definition))
    return coder.codes(copy)
