"""An independent check that published numbers reveal no small count, by linear algebra.

Given every count (published or not, with its true value), which ones are published, and the
equations that tie them together (a total equals the sum of its parts; weighted ones for an
item's mean and SD), a withheld count is *determined* when the unit vector on it lies in the
row space of the equations restricted to the withheld counts: then some combination of the
equations gives its value from published numbers alone. That is tested with matrix ranks
(numpy), not with the graph argument the application uses.

Disclosures reported:
* a published count between 1 and k - 1;
* a withheld count between 1 and k - 1 that is determined;
* a total whose withheld (and undetermined) parts add up to between 1 and k - 1: subtracting
  the published parts from the total reveals that small sum. Totals are also read through
  the totals of their parts (a histogram's n is the sum of all its bins, even when it is
  stated as "below the threshold" plus "above").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class System:
    values: dict[str, int] = field(default_factory=dict)
    published: set[str] = field(default_factory=set)
    equations: list[dict[str, float]] = field(default_factory=list)
    totals: list[tuple[str, list[str]]] = field(default_factory=list)

    def cell(self, key: str, value: int, published: bool) -> str:
        assert key not in self.values, key
        self.values[key] = int(value)
        if published:
            self.published.add(key)
        return key

    def total(self, whole: str, parts: Sequence[str]) -> None:
        self.totals.append((whole, list(parts)))
        equation = {part: 1.0 for part in parts}
        equation[whole] = equation.get(whole, 0.0) - 1.0
        self.equations.append(equation)

    def weighted(self, equation: Mapping[str, float]) -> None:
        self.equations.append(dict(equation))


def _determined(system: System) -> set[str]:
    unknown = [key for key in system.values if key not in system.published]
    if not unknown or not system.equations:
        return set()
    index = {key: i for i, key in enumerate(unknown)}
    matrix = np.zeros((len(system.equations), len(unknown)))
    for row, equation in enumerate(system.equations):
        for key, coefficient in equation.items():
            if key in index:
                matrix[row, index[key]] = coefficient
    matrix = matrix[np.any(matrix != 0, axis=1)]
    if matrix.size == 0:
        return set()
    rank = np.linalg.matrix_rank(matrix)
    found = set()
    for key, column in index.items():
        probe = np.zeros((1, len(unknown)))
        probe[0, column] = 1.0
        if np.linalg.matrix_rank(np.vstack([matrix, probe])) == rank:
            found.add(key)
    return found


def disclosures(system: System, k: int) -> list[str]:
    problems = []
    small = {key for key, value in system.values.items() if 1 <= value < k}
    for key in sorted(small & system.published):
        problems.append(f"published small count {key} = {system.values[key]}")
    determined = _determined(system)
    for key in sorted((small - system.published) & determined):
        problems.append(f"withheld {key} = {system.values[key]} follows from published values")
    known = system.published | determined
    for whole, parts in system.totals + _expanded(system.totals):
        if whole not in known:
            continue
        hidden = [p for p in parts if p not in known]
        residual = sum(system.values[p] for p in hidden)
        if 1 <= residual < k:
            problems.append(f"{whole} minus its published parts reveals {residual} ({hidden})")
    return problems


def _expanded(totals: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Each total with its parts replaced, recursively, by the parts of the one total that
    defines them."""
    defined: dict[str, list[list[str]]] = {}
    for whole, parts in totals:
        defined.setdefault(whole, []).append(parts)

    def leaves(key: str, path: frozenset[str]) -> list[str]:
        if len(defined.get(key, [])) != 1 or key in path:
            return [key]
        return [leaf for part in defined[key][0] for leaf in leaves(part, path | {key})]

    return [
        (whole, [leaf for part in parts for leaf in leaves(part, frozenset({whole}))])
        for whole, parts in totals
    ]
