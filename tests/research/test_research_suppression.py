"""Small-cell and complementary suppression, table by table (no database).

The property tests check each protected table with :mod:`disclosure_check` (ranks of the
equations, computed with numpy), independently of the graph argument the application uses.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from disclosure_check import System, disclosures
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.research.items import protect_item
from app.services.research.suppression import CountTable, SuppressionError, determined, protect
from app.services.research.tables import Block, Category, Partition, one_way, two_way

K = 11
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def partition_of(sizes: list[int], hidden_last: bool) -> tuple[Partition, dict[str, int]]:
    categories = tuple(
        Category(f"c{i}", exported=not (hidden_last and i == len(sizes) - 1))
        for i in range(len(sizes))
    )
    return Partition("/t/{}/count", categories), {f"c{i}": size for i, size in enumerate(sizes)}


def check_one_way(
    partition: Partition, counts: dict[str, int], withheld: set[str], k: int
) -> list[str]:
    system = System()
    n = sum(counts.values())
    system.cell("/n", n, published=True)
    parts = []
    for category in partition.categories:
        key = partition.key("", category)
        parts.append(system.cell(key, counts[category.name], published=key not in withheld))
    system.total("/n", parts)
    return disclosures(system, k)


def test_a_single_small_cell_takes_the_next_smallest_with_it() -> None:
    partition, counts = partition_of([3, 40, 15, 25], hidden_last=False)
    withheld = one_way(partition, Block("", 83, counts), K)
    # 3 alone could be recovered as 83 - 40 - 15 - 25; with 15 it cannot, and 3 + 15 >= 11.
    assert withheld == {"/t/c0/count", "/t/c2/count"}


def test_small_cells_that_add_up_to_a_small_count_take_a_third() -> None:
    partition, counts = partition_of([2, 4, 30, 20], hidden_last=False)
    withheld = one_way(partition, Block("", 56, counts), K)
    # 2 and 4 are both withheld, but 56 - 30 - 20 = 6 would still be a small count.
    assert withheld == {"/t/c0/count", "/t/c1/count", "/t/c3/count"}


def test_zero_and_large_counts_are_published() -> None:
    partition, counts = partition_of([0, 30, 11, 0], hidden_last=False)
    assert one_way(partition, Block("", 41, counts), K) == set()


def test_a_small_complement_that_is_not_exported_withholds_the_count() -> None:
    # 25 of 30 elevated: the 5 not elevated would follow from N - 25.
    partition, counts = partition_of([25, 5], hidden_last=True)
    withheld = one_way(partition, Block("", 30, counts), K)
    assert "/t/c0/count" in withheld


def test_a_withheld_group_cell_alone_in_its_column_is_paired() -> None:
    partition, _ = partition_of([0, 0], hidden_last=False)
    overall = Block("", 60, {"c0": 30, "c1": 30})
    groups = [
        Block("/groups/0", 20, {"c0": 3, "c1": 17}),
        Block("/groups/1", 40, {"c0": 27, "c1": 13}),
    ]
    withheld = two_way(partition, overall, set(), groups, K)
    # Group 0's 3 is withheld; its row partner (17), and in the other row the two cells that
    # close the cycle, else 30 - 27 or 20 - 17 would give it back.
    assert withheld == {
        "/groups/0/t/c0/count",
        "/groups/0/t/c1/count",
        "/groups/1/t/c0/count",
        "/groups/1/t/c1/count",
    }


def test_fixed_cells_are_never_withheld_later() -> None:
    table = CountTable()
    table.add("n", 20)
    table.add("a", 5)
    table.add("b", 15)
    table.fix("n", withheld=False)
    table.fix("b", withheld=False)
    table.line("n", ["a", "b"])
    with pytest.raises(SuppressionError):
        protect(table, K)


def test_parts_must_add_up() -> None:
    table = CountTable()
    table.add("n", 20)
    table.add("a", 5)
    with pytest.raises(ValueError, match="do not add up"):
        table.line("n", ["a"])


def test_exact_elimination_finds_weighted_disclosures() -> None:
    # c2 + c3 = s and 2 c2 + 3 c3 = m fix both; c1 + c2 = s alone fixes neither.
    both = [{"c2": Fraction(1), "c3": Fraction(1)}, {"c2": Fraction(2), "c3": Fraction(3)}]
    assert determined(["c2", "c3"], both) == {"c2", "c3"}
    assert determined(["c1", "c2"], [{"c1": Fraction(1), "c2": Fraction(1)}]) == set()


counts_strategy = st.lists(
    st.one_of(st.integers(0, 12), st.integers(0, 60)), min_size=1, max_size=9
)


@PROPERTY
@given(sizes=counts_strategy, hidden_last=st.booleans(), k=st.sampled_from([3, 5, 11]))
def test_one_way_tables_reveal_no_small_count(sizes: list[int], hidden_last: bool, k: int) -> None:
    partition, counts = partition_of(sizes, hidden_last)
    n = sum(sizes)
    if 0 < n < k:
        return  # the export withholds the whole block then
    withheld = one_way(partition, Block("", n, counts), k)
    assert check_one_way(partition, counts, withheld, k) == []


@st.composite
def grouped_tables(draw: st.DrawFn) -> tuple[list[list[int]], bool, int]:
    k = draw(st.sampled_from([3, 5, 11]))
    columns = draw(st.integers(1, 6))
    rows = draw(st.integers(1, 6))
    table = []
    for _ in range(rows):
        row = draw(
            st.lists(
                st.one_of(st.integers(0, 8), st.integers(0, 40)), min_size=columns, max_size=columns
            )
        )
        if sum(row) < k:  # groups are pooled until each has at least k
            row[0] += k - sum(row)
        table.append(row)
    return table, draw(st.booleans()), k


@PROPERTY
@given(grouped_tables())
def test_two_way_tables_reveal_no_small_count(case: tuple[list[list[int]], bool, int]) -> None:
    rows, hidden_last, k = case
    partition, _ = partition_of(rows[0], hidden_last)
    names = [c.name for c in partition.categories]
    overall_counts = {name: sum(row[i] for row in rows) for i, name in enumerate(names)}
    n = sum(overall_counts.values())
    overall = Block("", n, overall_counts)
    overall_withheld = one_way(partition, overall, k)
    groups = [
        Block(f"/groups/{g}", sum(row), dict(zip(names, row, strict=True)))
        for g, row in enumerate(rows)
    ]
    withheld = overall_withheld | two_way(partition, overall, overall_withheld, groups, k)

    system = System()
    system.cell("/n", n, published=True)
    column_cells: list[list[str]] = [[] for _ in names]
    overall_keys = []
    for category in partition.categories:
        key = partition.key("", category)
        overall_keys.append(system.cell(key, overall_counts[category.name], key not in withheld))
    system.total("/n", overall_keys)
    group_totals = []
    for group in groups:
        group_totals.append(system.cell(f"{group.prefix}/n", group.n, published=True))
        cells = []
        for i, category in enumerate(partition.categories):
            key = partition.key(group.prefix, category)
            cells.append(system.cell(key, group.counts[category.name], key not in withheld))
            column_cells[i].append(key)
        system.total(f"{group.prefix}/n", cells)
    for key, column in zip(overall_keys, column_cells, strict=True):
        system.total(key, column)
    system.total("/n", group_totals)
    assert disclosures(system, k) == []
    # The grouped export never withholds an overall count the ungrouped one publishes.
    assert {
        key for key in withheld if not key.startswith(("/groups", "~/groups"))
    } == overall_withheld


@PROPERTY
@given(
    counts=st.lists(st.one_of(st.integers(0, 6), st.integers(0, 50)), min_size=7, max_size=7),
    skipped=st.one_of(st.integers(0, 4), st.integers(0, 30)),
    k=st.sampled_from([3, 5, 11]),
)
def test_an_items_counts_mean_and_sd_reveal_no_small_count(
    counts: list[int], skipped: int, k: int
) -> None:
    distribution = {point: count for point, count in zip(range(1, 8), counts, strict=True)}
    answered = sum(counts)
    n = answered + skipped
    if 0 < n < k:
        return
    withheld, moments_withheld = protect_item("x", n, distribution, k)
    system = System()
    system.cell("/n", n, published=True)
    item_n = system.cell("/items/x/n", answered, "/items/x/n" not in withheld)
    gone = system.cell("~/items/x/skipped", skipped, published=False)
    system.total("/n", [item_n, gone])
    keys = {
        p: system.cell(
            f"/items/x/distribution/{p}", c, f"/items/x/distribution/{p}" not in withheld
        )
        for p, c in distribution.items()
    }
    system.total(item_n, list(keys.values()))
    if not moments_withheld and answered >= max(k, 2):
        mean = sum(p * c for p, c in distribution.items()) / answered
        variance = sum((p - mean) ** 2 * c for p, c in distribution.items()) / (answered - 1)
        system.weighted({**{key: float(p) for p, key in keys.items()}, item_n: -mean})
        system.weighted(
            {**{key: float(p * p) for p, key in keys.items()}, item_n: -(variance + mean * mean)}
        )
    assert disclosures(system, k) == []
