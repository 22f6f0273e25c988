"""The count tables an export publishes, set up for :mod:`suppression`.

A *partition* splits a block of responses (everyone covered, or one group) into categories
whose counts add up to the block's n: the primary tendency, elevated or not on a tendency, the
crisis level, the period of submission, scored or not on a dimension. Categories that are not
exported (not elevated, no crisis, not scored) are still in the table, because they follow
from the others and must not be small and recoverable.

One block is a one-way table. Groups are a two-way table: the groups' counts by category,
with each group's n and the overall counts (published by the same export, and by an export
without ``group_by``) as its margins. The overall counts are protected first, on their own,
exactly as an ungrouped export would, and then fixed: grouping may withhold more of the
groups' cells, never more of the overall ones, so the grouped and ungrouped exports of the
same data agree on every overall value.

Cell keys are the JSON Pointers of the values in the export; a cell that is not exported has
its would-be pointer prefixed with ``~``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.services.research.suppression import CountTable, protect

HIDDEN_PREFIX = "~"


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    exported: bool = True


@dataclass(frozen=True, slots=True)
class Partition:
    """Where a block's counts go: ``cell`` is a pointer template with ``{}`` for the
    category, relative to the block."""

    cell: str
    categories: tuple[Category, ...]

    def key(self, prefix: str, category: Category) -> str:
        pointer = prefix + self.cell.format(escape(category.name))
        return pointer if category.exported else HIDDEN_PREFIX + pointer


@dataclass(frozen=True, slots=True)
class Block:
    prefix: str
    """``""`` for everyone covered, ``/groups/<i>`` for a group."""
    n: int
    counts: Mapping[str, int]


def escape(token: str) -> str:
    """A JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def n_key(prefix: str) -> str:
    return f"{prefix}/n"


def _add_block(table: CountTable, partition: Partition, block: Block) -> list[str]:
    keys = []
    for category in partition.categories:
        keys.append(
            table.add(
                partition.key(block.prefix, category),
                block.counts.get(category.name, 0),
                exported=category.exported,
            )
        )
    return keys


def one_way(partition: Partition, block: Block, k: int) -> set[str]:
    """The cells of one block to withhold; the block's n is published (n >= k or 0)."""
    table = CountTable()
    total = table.add(n_key(block.prefix), block.n)
    table.fix(total, withheld=False)
    table.line(total, _add_block(table, partition, block))
    return protect(table, k)


def two_way(
    partition: Partition,
    overall: Block,
    overall_withheld: set[str],
    groups: Sequence[Block],
    k: int,
) -> set[str]:
    """The groups' cells to withhold, given the overall block's (already decided) cells.
    Every group's n is published (the groups are pooled so that each has at least k)."""
    table = CountTable()
    grand_total = table.add(n_key(overall.prefix), overall.n)
    table.fix(grand_total, withheld=False)
    overall_cells = _add_block(table, partition, overall)
    for key in overall_cells:
        table.fix(key, withheld=key in overall_withheld)
    table.line(grand_total, overall_cells)
    columns: list[list[str]] = [[] for _ in partition.categories]
    group_totals = []
    for group in groups:
        group_total = table.add(n_key(group.prefix), group.n)
        table.fix(group_total, withheld=False)
        group_totals.append(group_total)
        cells = _add_block(table, partition, group)
        table.line(group_total, cells)
        for column, key in zip(columns, cells, strict=True):
            column.append(key)
    for overall_cell, column in zip(overall_cells, columns, strict=True):
        table.line(overall_cell, column)
    table.line(grand_total, group_totals)
    return protect(table, k) - set(overall_cells)


def exported_only(keys: set[str]) -> set[str]:
    return {key for key in keys if not key.startswith(HIDDEN_PREFIX)}
