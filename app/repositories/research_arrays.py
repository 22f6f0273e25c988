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
_EXACT_SINGLE = 1 << 24
"""The same for float32."""
_SINGLE_PART = 1_000
"""The fewest rows of a part of a batch whose scores' sums are made in float32 (a batch's
products of two keyed sums can pass 2**24 where a part's do not): fewer, and the whole batch
is added up in float64."""
_JOINT = 1 << 12
"""The most combinations of places of neighbouring items counted together by one
``bincount`` (each in 16 bits)."""


def _exact_type(bound: int) -> type[np.float32 | np.float64 | np.int64]:
    """The cheapest type in which sums and products of integers are exact when the sum of
    their magnitudes stays below ``bound``: float32 (a matrix product twice as fast as
    float64), float64, otherwise 64-bit integers (no matrix routine of the CPU's library)."""
    if bound < _EXACT_SINGLE:
        return np.float32
    if bound < _EXACT:
        return np.float64
    return np.int64


class _Items:
    """Every scored item of a questionnaire version, dimension after dimension, for adding up
    a batch in a few passes over all its items at once, with a row per item (each item's
    answers side by side in memory): where each item's byte is, the arithmetic of its keyed
    value (``place - FIRST_PLACE + low``, reversed as ``low + high - x`` as in the scoring
    engine) and the bounds that decide which arithmetic is exact."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        items = [item for dimension in dimensions for item in dimension.items]
        self.ids = [item.id for item in items]
        self.positions = np.array([item.position for item in items], dtype=np.intp)
        self.points = np.array([item.high - item.low + 1 for item in items], dtype=np.int64)
        """Each item's number of points: its places are 1 to this, 0 where not answered."""
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
        self.sign = np.where(reverse, -1, 1)[:, None]
        self.shift = np.where(
            reverse, high + answer_copy.FIRST_PLACE, low - answer_copy.FIRST_PLACE
        )[:, None]
        largest = [max(abs(item.high), abs(item.low), 1) for item in items]
        self.totals = [sum(largest[part]) for part in self.slices]
        """The largest keyed sum (in size) of each dimension."""
        self.per_gram = max(
            max(max(largest[part], default=1) ** 2, total)
            for part, total in zip(self.slices, self.totals, strict=True)
        )
        """What one response adds at most to an entry of a dimension's Gram matrix, or
        to a keyed sum (in size)."""
        self.per_score = max(self.totals, default=1) ** 2
        """What one response adds at most to a sum of products of two keyed sums."""
        most = max((part.stop - part.start for part in self.slices), default=0)
        self.count_type: type[np.uint8 | np.uint32] = np.uint8 if most < 1 << 8 else np.uint32
        """Wide enough for the number of items of a dimension a response answered."""
        self.joint: list[tuple[int, int, tuple[int, ...]]] = []
        """Neighbouring items whose places are counted together (``bincount`` over one
        number per response): first and last slot (exclusive), and each one's number of
        places (0 included)."""
        start = 0
        while start < len(items):
            stop, combinations = start + 1, int(self.points[start]) + 1
            while stop < len(items) and combinations * (int(self.points[stop]) + 1) <= _JOINT:
                combinations *= int(self.points[stop]) + 1
                stop += 1
            sizes = tuple(int(points) + 1 for points in self.points[start:stop])
            self.joint.append((start, stop, sizes))
            start = stop
        # The number of each group's combination, ``place_1 * size_2 * ... * size_k +
        # place_2 * size_3 * ... + place_k``, counted from its group's first bin: made for
        # every group at once, a group's k-th items (or for a shorter group slot 0 times
        # nothing) times their weights.
        depth = max((stop - start for start, stop, _ in self.joint), default=0)
        self.joint_slots = np.zeros((depth, len(self.joint)), dtype=np.intp)
        weights = np.zeros((depth, len(self.joint)), dtype=np.int64)
        firsts = []
        self.joint_bins = 0
        for group, (start, stop, sizes) in enumerate(self.joint):
            weight = 1
            for k in reversed(range(stop - start)):
                self.joint_slots[k, group] = start + k
                weights[k, group] = weight
                weight *= sizes[k]
            firsts.append(self.joint_bins)
            self.joint_bins += weight
        self.joint_type = np.uint16 if self.joint_bins <= 1 << 16 else np.uint32
        self.joint_weights = weights.astype(self.joint_type)[:, :, None]
        self.joint_firsts = np.array(firsts, dtype=self.joint_type)[:, None]

    def places(
        self, matrix: npt.NDArray[np.uint8], places: npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.uint8]:
        """Each item's bytes, a row per item, in ``places``; ValueError naming the first item
        with a byte beyond its scale (no answer is written as those)."""
        np.take(matrix.T, self.positions, axis=0, out=places)
        beyond = np.nonzero(places.max(axis=1) > self.points)[0]
        if len(beyond):
            raise ValueError(
                f"{self.ids[int(beyond[0])]}: a research copy's answer is beyond its scale"
            )
        return places

    def keyed(
        self,
        places: npt.NDArray[np.uint8],
        answered: npt.NDArray[np.bool_],
        keyed: npt.NDArray[Any],
    ) -> npt.NDArray[Any]:
        """Each item's keyed value, 0 where not answered, a row per item, in ``keyed``."""
        np.multiply(places, self.sign.astype(keyed.dtype), out=keyed)
        keyed += self.shift.astype(keyed.dtype)
        keyed *= answered
        return keyed


class _Kept:
    """Arrays kept from one batch to the next for its temporary values: memory taken afresh
    for each batch (a few megabytes) is given back and taken again every time, a page fault
    every 4 KB, which cost about as much as the arithmetic."""

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, np.dtype[Any]], npt.NDArray[Any]] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: type[Any]) -> npt.NDArray[Any]:
        """An array of ``shape`` (its values left from before), in memory kept under
        ``name`` for arrays of ``dtype``."""
        key = (name, np.dtype(dtype))
        size = int(np.prod(shape))
        kept = self.arrays.get(key)
        if kept is None or len(kept) < size:
            kept = self.arrays[key] = np.empty(size, dtype=dtype)
        return kept[:size].reshape(shape)


class AnswerSums:
    """Running exact integer sums for :func:`item_tallies`, a batch of research copies at a
    time in a few passes over its answers: how often each place was chosen (one
    ``bincount`` per few neighbouring items), and two matrix products, in floating point
    where that is exact (:func:`_exact_type`), for the rest:

    * per dimension, the Gram matrix of its complete cases' keyed values with a column of
      ones (:meth:`_complete_sums` reads every sum from it);
    * for the scores, the Gram matrix of a column per dimension ``d`` and number answered
      ``c`` (the keyed sum ``S_d`` of each scored response with ``C_d = c``, 0 otherwise) and
      a column of ones for the scored responses: its entries are the sums of ``S_d`` and
      ``S_d^2`` per ``c`` and of ``S_a S_b`` per ``(ca, cb)``.

    The totals are kept in Python integers, which no number of responses overflows."""

    def __init__(self, dimensions: Sequence[PackedDimension]) -> None:
        self.dimensions = dimensions
        self.n = 0
        self.items = _Items(dimensions)
        self.joint = np.zeros(self.items.joint_bins, dtype=np.int64)
        """Per group of neighbouring items, how often each combination of places was chosen,
        one group after the other."""
        self.grams = [_ExactSums((len(d.items) + 1,) * 2) for d in dimensions]
        """Per dimension, the Gram matrix of its complete cases (:meth:`_complete_sums`)."""
        self.columns = [
            (index, c)
            for index, d in enumerate(dimensions)
            for c in range(d.needed, len(d.items) + 1)
        ]
        """The scores' columns: (dimension, number answered); then one of ones."""
        self.column_dimensions = np.array([index for index, _ in self.columns], dtype=np.intp)
        count_type = self.items.count_type
        self.column_counts = np.array([c for _, c in self.columns], dtype=count_type)[:, None]
        self.needed = np.array([d.needed for d in dimensions], dtype=count_type)[:, None]
        self.scores = _ExactSums((len(self.columns) + 1,) * 2)
        self.kept = _Kept()

    def add(self, matrix: npt.NDArray[np.uint8]) -> None:
        """Add a batch of research copies (a row per response)."""
        rows = len(matrix)
        self.n += rows
        items = self.items
        if not rows or not items.ids:
            return
        kept, shape = self.kept, (len(items.ids), rows)
        places = items.places(matrix, kept.array("places", shape, np.uint8))
        self._add_answers(places)
        answered = np.not_equal(
            places, answer_copy.NOT_ANSWERED, out=kept.array("answered", shape, np.bool_)
        )
        exact = _exact_type(items.per_gram * rows)
        keyed = items.keyed(places, answered, kept.array("keyed", shape, exact))
        flags = answered.view(np.uint8)  # the same bytes: summed without a cast
        counts = [flags[part].sum(axis=0, dtype=items.count_type) for part in items.slices]
        totals = [keyed[part].sum(axis=0) for part in items.slices]
        for index, part in enumerate(items.slices):
            size = part.stop - part.start
            with_ones = kept.array("with ones", (size + 1, rows), exact)
            complete = counts[index] == size
            np.multiply(keyed[part], complete, out=with_ones[:size])
            with_ones[size] = complete
            self.grams[index].add(self._gram(with_ones), items.per_gram * rows)
        self._add_scores(counts, totals, rows)

    def _add_answers(self, places: npt.NDArray[np.uint8]) -> None:
        """How often each combination of places of each group of neighbouring items was
        chosen: the group's places as one number per response (``place_1 * size_2 +
        place_2 ...``, in 16 bits where they fit), every group's counted with one
        ``bincount``."""
        items, kept = self.items, self.kept
        shape = (len(items.joint), places.shape[1])
        combined = kept.array("combined", shape, items.joint_type)
        term = kept.array("term", shape, items.joint_type)
        np.multiply(places[items.joint_slots[0]], items.joint_weights[0], out=combined)
        combined += items.joint_firsts
        for slots, weights in zip(items.joint_slots[1:], items.joint_weights[1:], strict=True):
            np.multiply(places[slots], weights, out=term)
            combined += term
        self.joint += np.bincount(combined.reshape(-1), minlength=items.joint_bins)

    def _add_scores(
        self,
        counts: list[npt.NDArray[np.unsignedinteger[Any]]],
        totals: list[npt.NDArray[Any]],
        rows: int,
    ) -> None:
        """Add the scores' Gram matrix of a batch (see the class), in parts of as many rows
        as float32 adds up exactly (:data:`_SINGLE_PART`)."""
        per_score = self.items.per_score
        part = (_EXACT_SINGLE - 1) // per_score
        if part < _SINGLE_PART or not rows:
            part = rows
        exact = _exact_type(per_score * part)
        answered = np.stack(counts)
        scored = np.all(answered >= self.needed, axis=0)
        # Each column's dimension's keyed sums where its number answered is the column's.
        chosen = answered[self.column_dimensions] == self.column_counts
        chosen &= scored
        columns = self.kept.array("columns", (len(self.columns) + 1, rows), exact)
        np.multiply(
            np.stack(totals)[self.column_dimensions], chosen, out=columns[:-1], casting="unsafe"
        )
        columns[-1] = scored
        for start in range(0, rows, part):
            block = columns[:, start : start + part]
            self.scores.add(self._gram(block), per_score * block.shape[1])

    def _gram(self, columns: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        """``columns' columns`` (a row of ``columns`` per variable) as integers: exact when
        the type of ``columns`` was chosen by :func:`_exact_type`.

        A general matrix product with a copy of ``columns``, not ``columns @ columns.T``:
        numpy gives that to the library's routine for symmetric products, which for these
        shapes (a few rows, thousands of columns) takes more than twice the time of the
        general one, whose copy (made in order, not transposed) costs less than the
        difference."""
        copy = self.kept.array("copy", columns.shape, columns.dtype.type)
        np.copyto(copy, columns)
        gram: npt.NDArray[Any] = np.dot(columns, copy.T)
        return gram.astype(np.int64)

    def absorb(self, other: AnswerSums) -> None:
        """Add the sums of ``other`` (the same dimensions, other responses)."""
        self.n += other.n
        self.joint += other.joint
        for index, gram in enumerate(other.grams):
            self.grams[index].absorb(gram)
        self.scores.absorb(other.scores)

    def _chosen(self) -> list[npt.NDArray[np.int64]]:
        """Per item, how often each place was chosen (0: not answered)."""
        chosen = []
        first = 0
        for start, stop, sizes in self.items.joint:
            combinations = self.joint[first : first + int(np.prod(sizes))].reshape(sizes)
            first += combinations.size
            for axis in range(stop - start):
                others = tuple(other for other in range(len(sizes)) if other != axis)
                chosen.append(combinations.sum(axis=others))
        return chosen

    def _complete_sums(self, index: int) -> CompleteCaseSums:
        """The complete-case sums of dimension ``index`` from its Gram matrix ``G`` (keyed
        values ``K`` and a column of ones): ``n`` in its corner, each item's sum in the last
        column, its squares on the diagonal, its products with the total ``K`` times ones
        in the sums of its row of ``K'K``."""
        gram = self.grams[index].total()
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

    def _score_sums(self) -> ScoreSums:
        """The scores' sums from their Gram matrix (see the class)."""
        scores, ones = self.scores.total(), len(self.columns)
        row = {column: place for place, column in enumerate(self.columns)}
        sums = tuple(
            {
                c: (
                    int(scores[ones, row[(index, c)]]),
                    int(scores[row[(index, c)], row[(index, c)]]),
                )
                for c in range(d.needed, len(d.items) + 1)
            }
            for index, d in enumerate(self.dimensions)
        )
        dimensions = self.dimensions
        products = {
            (a, b): {
                (ca, cb): int(scores[row[(a, ca)], row[(b, cb)]])
                for ca in range(dimensions[a].needed, len(dimensions[a].items) + 1)
                for cb in range(dimensions[b].needed, len(dimensions[b].items) + 1)
            }
            for a in range(len(dimensions))
            for b in range(a + 1, len(dimensions))
        }
        return ScoreSums(n=int(scores[ones, ones]), sums=sums, products=products)

    def tallies(self) -> ItemTallies:
        answers: dict[str, dict[int, int]] = {}
        chosen = self._chosen()
        slot = 0
        for dimension in self.dimensions:
            for item in dimension.items:
                counts = chosen[slot][1 : item.high - item.low + 2].tolist()
                answers[item.id] = {item.low + offset: count for offset, count in enumerate(counts)}
                slot += 1
        complete = {
            dimension.id: self._complete_sums(index)
            for index, dimension in enumerate(self.dimensions)
        }
        return ItemTallies(n=self.n, answers=answers, complete=complete, scores=self._score_sums())


_ROOM = 1 << 62
"""How far a running sum in 64-bit integers may go before it is moved into Python's."""


class _ExactSums:
    """A running sum of integer matrices, exact however many are added: added up in 64-bit
    integers while no entry can overflow (each addition says how large its entries can be),
    moved into Python integers before one could."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.small = np.zeros(shape, dtype=np.int64)
        self.large = np.zeros(shape, dtype=object)
        self.room = _ROOM

    def add(self, values: npt.NDArray[np.int64], bound: int) -> None:
        """Add ``values``, no entry of which is larger than ``bound`` in size."""
        if bound > self.room:
            self.large += self.small.astype(object)
            self.small[...] = 0
            self.room = _ROOM
        self.small += values
        self.room -= bound

    def absorb(self, other: _ExactSums) -> None:
        self.large += other.total()

    def total(self) -> npt.NDArray[Any]:
        """The sums, in Python integers."""
        total: npt.NDArray[Any] = self.large + self.small.astype(object)
        return total
