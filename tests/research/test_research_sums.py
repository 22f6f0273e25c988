"""The item statistics' exact sums, made with numpy a batch at a time, are what adding up
each response's answers one by one gives: for random definitions, answers left out, and
batches split anywhere, where the sums are added as float32 (every partial sum below 2**24,
so exact), as float64 (below 2**53) and as integers."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.repositories import research_arrays
from app.repositories.research_codes import packed_dimensions
from app.repositories.research_scope import (
    CompleteCaseSums,
    ItemTallies,
    PackedDimension,
    ScoreSums,
)
from scoring import answer_copy
from tests.scoring.test_vectorized import answer_sets, definitions


def one_by_one(dimensions: tuple[PackedDimension, ...], copies: list[bytes]) -> ItemTallies:
    """The sums of :class:`ItemTallies`, response by response, in plain integers."""
    answers = {
        item.id: dict.fromkeys(range(item.low, item.high + 1), 0)
        for dimension in dimensions
        for item in dimension.items
    }
    complete = {
        d.id: [0, 0, 0, [0] * len(d.items), [0] * len(d.items), [0] * len(d.items)]
        for d in dimensions
    }
    scored = 0
    sums = [{c: [0, 0] for c in range(d.needed, len(d.items) + 1)} for d in dimensions]
    products: dict[tuple[int, int], dict[tuple[int, int], int]] = {
        (a, b): {
            (ca, cb): 0
            for ca in range(dimensions[a].needed, len(dimensions[a].items) + 1)
            for cb in range(dimensions[b].needed, len(dimensions[b].items) + 1)
        }
        for a in range(len(dimensions))
        for b in range(a + 1, len(dimensions))
    }
    for copy in copies:
        per_dimension = []
        for dimension in dimensions:
            keyed: list[int | None] = []
            for item in dimension.items:
                place = copy[item.position]
                if place == answer_copy.NOT_ANSWERED:
                    keyed.append(None)
                    continue
                answer = place - answer_copy.FIRST_PLACE + item.low
                answers[item.id][answer] += 1
                keyed.append(item.low + item.high - answer if item.reverse else answer)
            given_ = [x for x in keyed if x is not None]
            total = sum(given_)
            per_dimension.append((len(given_), total))
            if len(given_) == len(keyed):
                block: list[Any] = complete[dimension.id]
                block[0] += 1
                block[1] += total
                block[2] += total * total
                for i, x in enumerate(given_):
                    block[3][i] += x
                    block[4][i] += x * x
                    block[5][i] += x * total
        if all(c >= d.needed for (c, _), d in zip(per_dimension, dimensions, strict=True)):
            scored += 1
            for index, (c, total) in enumerate(per_dimension):
                sums[index][c][0] += total
                sums[index][c][1] += total * total
            for (a, b), by_counts in products.items():
                by_counts[(per_dimension[a][0], per_dimension[b][0])] += (
                    per_dimension[a][1] * per_dimension[b][1]
                )
    return ItemTallies(
        n=len(copies),
        answers=answers,
        complete={
            name: CompleteCaseSums(
                n=b[0],
                total=b[1],
                total_squares=b[2],
                item_sums=tuple(b[3]),
                item_squares=tuple(b[4]),
                item_total=tuple(b[5]),
            )
            for name, b in complete.items()
        },
        scores=ScoreSums(
            n=scored,
            sums=tuple({c: (s, q) for c, (s, q) in by.items()} for by in sums),
            products=products,
        ),
    )


@pytest.mark.parametrize(
    ("single_below", "double_below", "room", "single_part"),
    [
        (research_arrays._EXACT_SINGLE, research_arrays._EXACT, research_arrays._ROOM, 1_000),
        (None, research_arrays._EXACT, research_arrays._ROOM, 1),
        (1, research_arrays._EXACT, research_arrays._ROOM, 1_000),
        (1, 1, research_arrays._ROOM, 1_000),
        (research_arrays._EXACT_SINGLE, research_arrays._EXACT, 1, 1_000),
    ],
    ids=["float32", "float32-in-parts", "float64", "integers", "python-integers"],
)
def test_batched_sums_are_the_sums_of_each_response(
    single_below: int | None,
    double_below: int,
    room: int,
    single_part: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``float32-in-parts``: the scores' sums of a batch made three rows at a time, as where
    a batch's could pass 2**24; ``python-integers``: every batch's sums moved into Python
    integers, as when the running sums in 64 bits could overflow."""
    if single_below is not None:
        monkeypatch.setattr(research_arrays, "_EXACT_SINGLE", single_below)
    monkeypatch.setattr(research_arrays, "_EXACT", double_below)
    monkeypatch.setattr(research_arrays, "_ROOM", room)
    monkeypatch.setattr(research_arrays, "_SINGLE_PART", single_part)

    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        definition = data.draw(definitions())
        dimensions = packed_dimensions(definition)
        if single_below is None:  # float32 exact for three responses' scores at a time
            per_score = research_arrays.AnswerSums(dimensions).items.per_score
            monkeypatch.setattr(research_arrays, "_EXACT_SINGLE", 3 * per_score + 1)
        copies = [
            answer_copy.encode(definition, data.draw(answer_sets(definition, invalid=False)))
            for _ in range(data.draw(st.integers(1, 30)))
        ]
        # Batches of any sizes, smaller and larger in turn (each batch's temporary arrays
        # are kept for the next).
        cuts = data.draw(st.sets(st.integers(1, len(copies) - 1))) if len(copies) > 1 else set()
        bounds = [0, *sorted(cuts), len(copies)]
        sums = research_arrays.AnswerSums(dimensions)
        for start, stop in itertools.pairwise(bounds):
            sums.add(research_arrays.matrix_of(copies[start:stop]))
        assert sums.tallies() == one_by_one(dimensions, copies)
        # Two parts added up apart (as two halves of the days are), then one absorbing the
        # other's sums.
        split = data.draw(st.integers(0, len(copies)))
        first, second = (research_arrays.AnswerSums(dimensions) for _ in range(2))
        for part, sums in ((copies[:split], first), (copies[split:], second)):
            if part:
                sums.add(research_arrays.matrix_of(part))
        first.absorb(second)
        assert first.tallies() == one_by_one(dimensions, copies)

    check()


def test_a_copy_with_an_answer_beyond_its_scale_is_refused() -> None:
    """A byte no answer on the item's scale is written as (a corrupt or foreign copy) is an
    error, never a count of nothing."""
    from scoring.catalog import Catalog

    definition = Catalog.load().definitions["attachment-self-reflection"].definition
    dimensions = packed_dimensions(definition)
    item = dimensions[0].items[0]
    copy = bytearray(answer_copy.encode(definition, {}))
    copy[item.position] = item.high - item.low + answer_copy.FIRST_PLACE + 1
    with pytest.raises(ValueError, match=item.id):
        research_arrays.AnswerSums(dimensions).add(np.frombuffer(bytes(copy), np.uint8)[None, :])
