"""The numpy side of the research exports: research copies as matrices, decoded into packed
codes and counted (:class:`CodeCounts`), and the exact sums behind the item statistics
(:class:`AnswerSums`).

Imported by :mod:`app.repositories.research_data` only when rows are streamed and counted in
Python, so that starting the application does not import numpy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.repositories.research_codes import code_width
from app.repositories.research_scope import (
    CompleteCaseSums,
    DemographicGroups,
    Grouping,
    GroupKey,
    ItemTallies,
    PackedDimension,
    ScoreSums,
)
from scoring import answer_copy

Matrix = npt.NDArray[np.uint8]
"""Research copies, a row per response and a column per byte."""


def batch_of(
    group: Grouping | None, groups: list[GroupKey], copies: list[bytes]
) -> tuple[list[GroupKey], npt.NDArray[np.uint8]]:
    """A batch as a matrix, with its groups read from the matrix when they are a
    demographic item's answers."""
    matrix = matrix_of(copies)
    if isinstance(group, DemographicGroups):
        groups = [group.key(place) for place in matrix[:, group.position].tolist()]
    return groups, matrix


def matrix_of(copies: list[bytes]) -> npt.NDArray[np.uint8]:
    width = len(copies[0])
    joined = b"".join(copies)
    if len(joined) != width * len(copies):
        raise ValueError("research copies of different layouts under one content hash")
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(copies), width)


@dataclass(frozen=True, slots=True)
class _Decoded:
    """One dimension of a batch: which items were answered, their keyed values (0 where not
    answered), and per response the number answered and the sum of the keyed values."""

    answered: npt.NDArray[np.bool_]
    keyed: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    total: npt.NDArray[np.int64]


def _decode(matrix: npt.NDArray[np.uint8], dimension: PackedDimension) -> _Decoded:
    places = matrix[:, [item.position for item in dimension.items]].astype(np.int64)
    low = np.array([item.low for item in dimension.items], dtype=np.int64)
    high = np.array([item.high for item in dimension.items], dtype=np.int64)
    reverse = np.array([item.reverse for item in dimension.items], dtype=np.bool_)
    answered = places != answer_copy.NOT_ANSWERED
    value = places - answer_copy.FIRST_PLACE + low
    # Reverse keying as in the scoring engine: low + high - x.
    keyed = np.where(answered, np.where(reverse, low + high - value, value), 0)
    return _Decoded(answered, keyed, answered.sum(axis=1), keyed.sum(axis=1))


class _KeyedTable:
    """One dimension's keyed values looked up by byte: row ``i`` of the table holds, for
    each byte of item ``i``'s place in the copy, its keyed value (0 where not answered), so
    decoding a batch is one lookup per answer. Places beyond an item's scale look up 0:
    :meth:`AnswerSums.add` refuses such copies before it decodes them."""

    def __init__(self, dimension: PackedDimension) -> None:
        self.positions = [item.position for item in dimension.items]
        table = np.zeros((len(dimension.items), 256), dtype=np.int64)
        for row, item in enumerate(dimension.items):
            for answer in range(item.low, item.high + 1):
                place = answer - item.low + answer_copy.FIRST_PLACE
                # Reverse keying as in the scoring engine: low + high - x.
                table[row, place] = item.low + item.high - answer if item.reverse else answer
        self.flat = table.ravel()
        self.offsets = np.arange(len(dimension.items), dtype=np.intp) * 256

    def decode(self, matrix: npt.NDArray[np.uint8]) -> _Decoded:
        places = matrix[:, self.positions]
        answered = places != answer_copy.NOT_ANSWERED
        keyed = self.flat[places.astype(np.intp) + self.offsets]
        return _Decoded(answered, keyed, answered.sum(axis=1), keyed.sum(axis=1))


class CodeCounts:
    """Responses per group, dimension and packed code, as one array of counts per dimension
    (a row per group, a column per possible code): a batch is counted with ``bincount``,
    in time linear in its rows, and the arrays' size is bounded by the groups and the
    questionnaire, never by the number of responses."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        self.dimensions = dimensions
        self.spans = [d.base * (len(d.items) + 1) for d in dimensions]
        self.numbering: dict[GroupKey, int] = {}
        self.counts = [np.zeros((0, span), dtype=np.int64) for span in self.spans]

    def add(self, groups: Sequence[GroupKey], matrix: npt.NDArray[np.uint8]) -> None:
        """Count a batch of research copies, decoded into their codes."""
        columns = []
        for dimension in self.dimensions:
            decoded = _decode(matrix, dimension)
            columns.append(dimension.code(decoded.total, decoded.count))
        self._count(groups, columns)

    def add_stored(self, groups: Sequence[GroupKey], stored: list[bytes]) -> None:
        """Count a batch of codes as stored at submission
        (:func:`app.repositories.research_codes.stored_codes`), without decoding a copy."""
        codes = self._stored(b"".join(stored), len(stored)).astype(np.int64)
        self._count(groups, [codes[:, index] for index in range(codes.shape[1])])

    def add_block(self, group: GroupKey, joined: bytes) -> None:
        """Count the stored codes of many responses of one group, joined end to end."""
        codes = self._stored(joined, None)
        row = self._grow([group])[group]
        for index, span in enumerate(self.spans):
            self.counts[index][row] += np.bincount(codes[:, index], minlength=span)

    def _stored(self, joined: bytes, rows: int | None) -> npt.NDArray[np.unsignedinteger[Any]]:
        """Stored codes joined end to end (``rows`` of them when given), a row per response
        and a column per dimension, read in place (big-endian)."""
        width = code_width(self.dimensions)
        size = width * len(self.dimensions)
        expected = len(joined) - len(joined) % size if rows is None else size * rows
        if len(joined) != expected:
            raise ValueError("stored codes of different layouts under one content hash")
        codes = np.frombuffer(joined, dtype=f">u{width}").reshape(-1, len(self.dimensions))
        return codes

    def _grow(self, groups: Sequence[GroupKey]) -> dict[GroupKey, int]:
        """The row of each group, a row of zeros added for each group not seen before."""
        numbering = self.numbering
        for name in dict.fromkeys(groups):  # in order of first appearance
            numbering.setdefault(name, len(numbering))
        size = len(numbering)
        for index, span in enumerate(self.spans):
            counts = self.counts[index]
            if len(counts) < size:
                grown = np.zeros((size, span), dtype=np.int64)
                grown[: len(counts)] = counts
                self.counts[index] = grown
        return numbering

    def _count(self, groups: Sequence[GroupKey], columns: list[npt.NDArray[np.int64]]) -> None:
        numbering = self._grow(groups)
        group_index = np.fromiter(map(numbering.__getitem__, groups), np.int64, len(groups))
        size = len(numbering)
        for index, codes in enumerate(columns):
            span = self.spans[index]
            found = np.bincount(group_index * span + codes, minlength=size * span)
            self.counts[index] += found.reshape(size, span)

    def counter(self) -> Counter[tuple[GroupKey, int, int]]:
        names = list(self.numbering)
        result: Counter[tuple[GroupKey, int, int]] = Counter()
        for index, counts in enumerate(self.counts):
            for row, code in zip(*np.nonzero(counts), strict=True):
                result[(names[int(row)], index, int(code))] = int(counts[row, code])
        return result


_EXACT = 1 << 53
"""Below this, every integer is exactly a float64, and so is every partial sum of them."""


def _sums_by(
    keys: npt.NDArray[np.int64], values: npt.NDArray[np.int64], size: int
) -> npt.NDArray[np.int64]:
    """Exact integer sums of ``values`` per key (``0 <= key < size``): ``bincount`` with the
    values as weights, which adds float64s, when no sum can reach 2**53 (so every partial
    sum is exact); otherwise a masked sum per key, in integers."""
    if len(values) == 0:
        return np.zeros(size, dtype=np.int64)
    largest = int(np.abs(values).max())
    if largest * len(values) < _EXACT:
        return np.rint(np.bincount(keys, weights=values, minlength=size)).astype(np.int64)
    return np.array([int(values[keys == key].sum()) for key in range(size)], dtype=np.int64)


class AnswerSums:
    """Running exact integer sums for :func:`item_tallies`."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        self.dimensions = dimensions
        self.n = 0
        self.tables = [_KeyedTable(dimension) for dimension in dimensions]
        self.answers = [[0] * (item.high - item.low + 1) for d in dimensions for item in d.items]
        self.complete = [[0] * (3 + 3 * len(d.items)) for d in dimensions]
        self.scored = 0
        self.sums = [{c: [0, 0] for c in range(d.needed, len(d.items) + 1)} for d in dimensions]
        self.pairs = [(a, b) for a in range(len(dimensions)) for b in range(a + 1, len(dimensions))]
        self.products = {
            (a, b): {
                (ca, cb): 0
                for ca in range(dimensions[a].needed, len(dimensions[a].items) + 1)
                for cb in range(dimensions[b].needed, len(dimensions[b].items) + 1)
            }
            for a, b in self.pairs
        }

    def add(self, matrix: npt.NDArray[np.uint8]) -> None:
        self.n += len(matrix)
        self._add_answers(matrix)
        decoded = [table.decode(matrix) for table in self.tables]
        for index, part in enumerate(decoded):
            self._add_complete(index, part)
        scored = np.logical_and.reduce(
            [part.count >= d.needed for part, d in zip(decoded, self.dimensions, strict=True)]
        )
        self.scored += int(scored.sum())
        counts = [part.count[scored] for part in decoded]
        totals = [part.total[scored] for part in decoded]
        for index, by_count in enumerate(self.sums):
            size = len(self.dimensions[index].items) + 1
            found = _sums_by(counts[index], totals[index], size)
            squares = _sums_by(counts[index], totals[index] * totals[index], size)
            for c, pair in by_count.items():
                pair[0] += int(found[c])
                pair[1] += int(squares[c])
        for a, b in self.pairs:
            size = len(self.dimensions[b].items) + 1
            keys = counts[a] * size + counts[b]
            found = _sums_by(
                keys, totals[a] * totals[b], size * (len(self.dimensions[a].items) + 1)
            )
            products = self.products[(a, b)]
            for ca, cb in products:
                products[(ca, cb)] += int(found[ca * size + cb])

    def _add_answers(self, matrix: npt.NDArray[np.uint8]) -> None:
        """How often each place of each item was chosen: one ``bincount`` over every item's
        byte, each item's places shifted to a range of its own."""
        items = [item for dimension in self.dimensions for item in dimension.items]
        if not items:
            return
        places = matrix[:, [item.position for item in items]].astype(np.intp)
        places += np.arange(len(items), dtype=np.intp) * 256
        chosen = np.bincount(places.ravel(), minlength=256 * len(items)).reshape(len(items), 256)
        for slot, item in enumerate(items):
            points = item.high - item.low + 1
            if chosen[slot, points + 1 :].any():
                raise ValueError(f"{item.id}: a research copy's answer is beyond its scale")
            self.answers[slot] = [
                a + int(b)
                for a, b in zip(self.answers[slot], chosen[slot, 1 : points + 1], strict=True)
            ]

    def _add_complete(self, index: int, part: _Decoded) -> None:
        keyed = part.keyed[part.answered.all(axis=1)]
        total = keyed.sum(axis=1)
        block = [len(keyed), int(total.sum()), int(total @ total)]
        item_sums = keyed.sum(axis=0)
        item_squares = np.einsum("ij,ij->j", keyed, keyed)
        item_total = total @ keyed
        for i in range(keyed.shape[1]):
            block += [int(item_sums[i]), int(item_squares[i]), int(item_total[i])]
        self.complete[index] = [a + b for a, b in zip(self.complete[index], block, strict=True)]

    def tallies(self) -> ItemTallies:
        answers: dict[str, dict[int, int]] = {}
        slot = 0
        for dimension in self.dimensions:
            for item in dimension.items:
                answers[item.id] = {
                    item.low + offset: count for offset, count in enumerate(self.answers[slot])
                }
                slot += 1
        complete = {
            dimension.id: CompleteCaseSums(
                n=block[0],
                total=block[1],
                total_squares=block[2],
                item_sums=tuple(block[3::3]),
                item_squares=tuple(block[4::3]),
                item_total=tuple(block[5::3]),
            )
            for dimension, block in zip(self.dimensions, self.complete, strict=True)
        }
        scores = ScoreSums(
            n=self.scored,
            sums=tuple({c: (s, q) for c, (s, q) in by_count.items()} for by_count in self.sums),
            products=self.products,
        )
        return ItemTallies(n=self.n, answers=answers, complete=complete, scores=scores)
