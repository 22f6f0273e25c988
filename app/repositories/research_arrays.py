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


class _Items:
    """Every scored item of a questionnaire version, dimension after dimension, for decoding a
    batch in a few passes over all its items at once: where each item's byte is, and the
    arithmetic of its keyed value (``place - FIRST_PLACE + low``, reversed as
    ``low + high - x`` as in the scoring engine)."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        items = [item for dimension in dimensions for item in dimension.items]
        self.ids = [item.id for item in items]
        self.positions = [item.position for item in items]
        self.points = [item.high - item.low + 1 for item in items]
        self.slices: list[slice] = []
        start = 0
        for dimension in dimensions:
            self.slices.append(slice(start, start + len(dimension.items)))
            start += len(dimension.items)
        low = np.array([item.low for item in items], dtype=np.int64)
        high = np.array([item.high for item in items], dtype=np.int64)
        reverse = np.array([item.reverse for item in items], dtype=np.bool_)
        # keyed = sign * place + shift where answered: place - FIRST_PLACE + low, or
        # low + high - (place - FIRST_PLACE + low) = high + FIRST_PLACE - place reversed.
        shift = np.where(reverse, high + answer_copy.FIRST_PLACE, low - answer_copy.FIRST_PLACE)
        # Small integers where they fit (a few passes over every answer of a batch), the
        # sums in 64 bits.
        fits = max(abs(int(value)) for value in [*shift, *high, 255]) < 1 << 14
        self.small: type[np.signedinteger[Any]] = np.int16 if fits else np.int64
        self.sign = np.where(reverse, -1, 1).astype(self.small)
        self.shift = shift.astype(self.small)
        # Each item's places shifted to a range of its own, in 16 bits while they fit.
        self.offsets = np.arange(len(items)) * 256
        if len(items) * 256 <= 1 << 16:
            self.offsets = self.offsets.astype(np.uint16)
        self.largest = [max(item.high, abs(item.low)) for item in items]
        """The largest keyed value (in size) of each item."""
        self.beyond = np.zeros((len(items), 256), dtype=np.bool_)
        """Per item, the places beyond its scale (no answer is written as those)."""
        for slot, points in enumerate(self.points):
            self.beyond[slot, points + 1 :] = True

    def places(self, matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Each item's byte, a column per item."""
        return matrix[:, self.positions]

    def keyed(
        self, places: npt.NDArray[np.uint8], answered: npt.NDArray[np.bool_]
    ) -> npt.NDArray[Any]:
        """Each item's keyed value, 0 where not answered."""
        keyed = places.astype(self.small)
        keyed *= self.sign
        keyed += self.shift
        keyed *= answered
        return keyed


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
        self.items = _Items(dimensions)
        self.chosen = np.zeros((len(self.items.ids), 256), dtype=np.int64)
        """Per item (a row each) how often each place was chosen (0: not answered)."""
        self.grams = [np.zeros((len(d.items) + 1,) * 2, dtype=object) for d in dimensions]
        """Per dimension, the Gram matrix of its complete cases (:meth:`_complete_sums`),
        in Python integers, which no number of responses overflows."""
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
        """Add a batch of research copies: every item decoded at once, then per dimension
        the number answered and the keyed sum of each response."""
        self.n += len(matrix)
        if not self.items.ids:
            return
        places = self.items.places(matrix)
        self._add_answers(places)
        answered = places != answer_copy.NOT_ANSWERED
        keyed = self.items.keyed(places, answered)
        counts = [answered[:, part].sum(axis=1, dtype=np.int64) for part in self.items.slices]
        totals = [keyed[:, part].sum(axis=1, dtype=np.int64) for part in self.items.slices]
        for index, part in enumerate(self.items.slices):
            complete = counts[index] == part.stop - part.start
            self._add_complete(index, keyed[complete, part])
        scored = np.logical_and.reduce(
            [count >= d.needed for count, d in zip(counts, self.dimensions, strict=True)]
        )
        self.scored += int(scored.sum())
        counts = [count[scored] for count in counts]
        totals = [total[scored] for total in totals]
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

    def absorb(self, other: AnswerSums) -> None:
        """Add the sums of ``other`` (the same dimensions, other responses)."""
        self.n += other.n
        self.chosen += other.chosen
        for index, gram in enumerate(other.grams):
            self.grams[index] += gram
        self.scored += other.scored
        for mine, theirs in zip(self.sums, other.sums, strict=True):
            for c, pair in theirs.items():
                mine[c][0] += pair[0]
                mine[c][1] += pair[1]
        for pair_key, by_counts in other.products.items():
            for counts, value in by_counts.items():
                self.products[pair_key][counts] += value

    def _add_answers(self, places: npt.NDArray[np.uint8]) -> None:
        """How often each place of each item was chosen: one ``bincount`` over every item's
        byte, each item's places shifted to a range of its own, added to a row per item."""
        items = self.items
        shifted = places.astype(items.offsets.dtype)
        shifted += items.offsets
        chosen = np.bincount(shifted.ravel(), minlength=256 * len(items.ids))
        chosen = chosen.reshape(len(items.ids), 256)
        if (chosen * items.beyond).any():
            slot = int(np.nonzero((chosen * items.beyond).any(axis=1))[0][0])
            raise ValueError(f"{items.ids[slot]}: a research copy's answer is beyond its scale")
        self.chosen += chosen

    def _add_complete(self, index: int, keyed: npt.NDArray[Any]) -> None:
        """Add the Gram matrix of one dimension's complete cases, their keyed values with a
        column of ones (:meth:`_complete_sums` reads every sum from it), computed in float64
        where no entry can reach 2**53 (so exactly), otherwise in integers."""
        rows, items = keyed.shape
        with_ones = np.ones((rows, items + 1), dtype=np.float64)
        with_ones[:, :items] = keyed
        largest = max(self.items.largest[self.items.slices[index]], default=0)
        if max(largest, 1) ** 2 * items * rows < _EXACT:
            gram = np.rint(with_ones.T @ with_ones).astype(np.int64)
        else:
            exact = with_ones.astype(np.int64)
            gram = exact.T @ exact
        self.grams[index] += gram.astype(object)

    def _complete_sums(self, index: int) -> CompleteCaseSums:
        """The complete-case sums of dimension ``index`` from its Gram matrix ``G`` (keyed
        values ``K`` and a column of ones): ``n`` in its corner, each item's sum in the last
        column, its squares on the diagonal, its products with the total ``K`` times ones
        in the sums of its row of ``K'K``."""
        gram = self.grams[index]
        items = gram.shape[0] - 1
        products = gram[:items, :items]
        item_total = [int(value) for value in products.sum(axis=1)]
        item_sums = [int(value) for value in gram[:items, items]]
        return CompleteCaseSums(
            n=int(gram[items, items]),
            total=sum(item_sums),
            total_squares=sum(item_total),
            item_sums=tuple(item_sums),
            item_squares=tuple(int(products[i, i]) for i in range(items)),
            item_total=tuple(item_total),
        )

    def tallies(self) -> ItemTallies:
        answers: dict[str, dict[int, int]] = {}
        slot = 0
        for dimension in self.dimensions:
            for item in dimension.items:
                chosen = self.chosen[slot, 1 : item.high - item.low + 2].tolist()
                answers[item.id] = {item.low + offset: count for offset, count in enumerate(chosen)}
                slot += 1
        complete = {
            dimension.id: self._complete_sums(index)
            for index, dimension in enumerate(self.dimensions)
        }
        scores = ScoreSums(
            n=self.scored,
            sums=tuple({c: (s, q) for c, (s, q) in by_count.items()} for by_count in self.sums),
            products=self.products,
        )
        return ItemTallies(n=self.n, answers=answers, complete=complete, scores=scores)
