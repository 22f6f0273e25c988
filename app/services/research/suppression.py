"""Small-cell suppression with complementary suppression.

The rule: a count between 1 and k - 1 (k = ``SECUREBASE_MIN_CELL_SIZE``, 11 by default, after
the CMS cell-size suppression policy, which withholds counts of 1 to 10) is withheld, and so is
anything that would let such a count be worked out from what is published. Zero is published
(it is not a small group of people) and so is any count of k or more.

What can be worked out is decided on a *table*: cells (counts) and *lines*, each line saying
that one cell (the total) is the sum of others (the parts). A table is a one-way distribution
(N and its categories), a two-way one (groups by categories, with group sizes and the overall
counts as margins), or a hierarchy (N, the scored responses, those above a threshold, the bins
of a histogram). Some cells are never exported but follow from others (the responses *not*
elevated on a tendency, the responses that skipped an item); they are part of the table too,
because their values must not be small and recoverable either.

Every cell lies on at most two lines, so the table is a graph: a vertex per line (and one
extra vertex, the *sink*, standing for "the line this cell is not on"), an edge per cell. The
published cells are known numbers; the withheld ones are unknowns constrained by one equation
per vertex. The set of values the withheld cells can take is then the cycle space of the graph
formed by the withheld edges, and a withheld cell is determined by the published ones exactly
when its edge is a *bridge* of that graph (it lies on no cycle). So protection means:

1. primary suppression: withhold every count in 1..k-1;
2. no withheld count in 1..k-1 may be a bridge: for each one that is, withhold the cheapest
   set of further cells that closes a cycle through it (a shortest path between its two
   vertices, where a cell already withheld costs nothing, and another costs its count plus
   one, so small and few cells are chosen);
3. no line whose total is known may have unknown parts that add up to 1..k-1 (that sum
   would be a small count of its own): withhold the smallest remaining positive part, or make
   a withheld part that other lines give away unknown again. Lines are read flattened too:
   where a part is itself the total of (exactly) one other line, the line also says that its
   total is the sum of that line's parts (the scored n of a histogram is the sum of all its
   bins, not only of "below" and "above the threshold").

Steps 2 and 3 repeat until neither finds anything; each only ever adds withheld cells, and
adding an edge never turns a cycle edge into a bridge, so it ends. Cells whose state another
export has already decided (the overall counts, when a grouped table is protected) are fixed:
never newly withheld. In a one-way table this reduces to the familiar rule: never exactly one
withheld cell in a line, and withheld cells together at least k.

Willenborg, L., & de Waal, T. (2001). Elements of Statistical Disclosure Control. Springer,
ch. 6 (secondary cell suppression; the graph view of two-way tables).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Cell:
    key: str
    value: int
    exported: bool = True


@dataclass(frozen=True, slots=True)
class Line:
    """``total`` is the sum of ``parts``."""

    total: str
    parts: tuple[str, ...]


@dataclass
class CountTable:
    """Counts and the sums that tie them together."""

    cells: dict[str, Cell] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    fixed: dict[str, bool] = field(default_factory=dict)
    """Cells whose state is decided elsewhere: key -> withheld."""

    def add(self, key: str, value: int, *, exported: bool = True) -> str:
        if key in self.cells:
            raise ValueError(f"cell {key!r} added twice")
        if value < 0:
            raise ValueError(f"cell {key!r} has a negative count")
        self.cells[key] = Cell(key, value, exported)
        return key

    def line(self, total: str, parts: Iterable[str]) -> None:
        line = Line(total, tuple(parts))
        for key in (line.total, *line.parts):
            if key not in self.cells:
                raise ValueError(f"line names unknown cell {key!r}")
        if self.cells[line.total].value != sum(self.cells[p].value for p in line.parts):
            raise ValueError(f"the parts of {line.total!r} do not add up to it")
        self.lines.append(line)

    def fix(self, key: str, withheld: bool) -> None:
        self.fixed[key] = withheld


class SuppressionError(RuntimeError):
    """The table cannot be protected without changing cells fixed elsewhere."""


def protect(table: CountTable, k: int, also_withhold: Iterable[str] = ()) -> set[str]:
    """The keys of every cell to withhold (cells that are not exported included)."""
    graph = _Graph(table)
    small = {key for key, cell in table.cells.items() if 1 <= cell.value < k}
    for key in small:
        if table.fixed.get(key) is False:
            raise SuppressionError(f"{key!r} is a small count fixed as published")
    withheld = set(small) | set(also_withhold)
    withheld |= {key for key, cell in table.cells.items() if not cell.exported}
    withheld |= {key for key, hidden in table.fixed.items() if hidden}
    # A cell this export does not show but another one publishes is known all the same.
    withheld -= {key for key, hidden in table.fixed.items() if not hidden}

    sums = table.lines + _flattened(table.lines)
    while True:
        bridges = graph.bridges(withheld)
        exposed = [key for key in bridges if key in small]
        if exposed:
            path = graph.cheapest_cycle(exposed[0], withheld)
            if path is None:
                raise SuppressionError(f"no way to protect {exposed[0]!r}")
            withheld |= path
            continue
        extra = _small_residual(table, sums, graph, withheld, bridges, k)
        if extra is None:
            return withheld
        withheld |= extra


def _flattened(lines: list[Line]) -> list[Line]:
    """Each line with every part that is the total of exactly one line replaced by that
    line's parts, recursively (the implied sums of a hierarchy)."""
    defining: dict[str, list[Line]] = {}
    for line in lines:
        defining.setdefault(line.total, []).append(line)

    def leaves(key: str, seen: frozenset[str]) -> list[str]:
        below = defining.get(key, [])
        if len(below) != 1 or key in seen:
            return [key]
        return [leaf for part in below[0].parts for leaf in leaves(part, seen | {key})]

    flat = []
    for line in lines:
        parts = tuple(leaf for part in line.parts for leaf in leaves(part, frozenset({line.total})))
        if parts != line.parts:
            flat.append(Line(line.total, parts))
    return flat


def _small_residual(
    table: CountTable,
    sums: list[Line],
    graph: _Graph,
    withheld: set[str],
    known: set[str],
    k: int,
) -> set[str] | None:
    """Cells to withhold because some line's unknown parts add up to 1..k-1, or None.

    Either a further positive part is withheld, or a withheld part (or total) that follows
    from other lines is made unknown by closing a cycle through it, whichever is cheaper.
    """
    for line in sums:
        if line.total in withheld and line.total not in known:
            continue
        unknown = [p for p in line.parts if p in withheld and p not in known]
        residual = sum(table.cells[p].value for p in unknown)
        if not 0 < residual < k:
            continue
        options: list[tuple[int, int, set[str]]] = []
        for order, part in enumerate((*line.parts, line.total)):
            cell = table.cells[part]
            if part not in withheld:
                if part not in table.fixed and (cell.value > 0 or part == line.total):
                    options.append((cell.value + 1, order, {part}))
            elif part in known:
                path = graph.cheapest_cycle(part, withheld)
                if path is not None:
                    cost = sum(table.cells[c].value + 1 for c in path)
                    options.append((cost, order, path))
        if not options:
            raise SuppressionError(f"the withheld parts of {line.total!r} add up to a small count")
        return min(options, key=lambda option: option[:2])[2]
    return None


class _Graph:
    """Lines as vertices, cells as edges (a cell on one line only ends at the sink)."""

    def __init__(self, table: CountTable) -> None:
        self.table = table
        self.sink = len(table.lines)
        on_lines: dict[str, list[int]] = {key: [] for key in table.cells}
        for index, line in enumerate(table.lines):
            for key in (line.total, *line.parts):
                on_lines[key].append(index)
        self.ends: dict[str, tuple[int, int]] = {}
        for key, lines in on_lines.items():
            if len(lines) > 2:
                raise ValueError(f"cell {key!r} lies on more than two lines")
            if len(lines) == 2:
                self.ends[key] = (lines[0], lines[1])
            elif len(lines) == 1:
                self.ends[key] = (lines[0], self.sink)
        self.vertices = self.sink + 1

    def _adjacency(self, keys: Iterable[str]) -> list[list[tuple[int, str]]]:
        adjacent: list[list[tuple[int, str]]] = [[] for _ in range(self.vertices)]
        for key in keys:
            ends = self.ends.get(key)
            if ends is None:
                continue
            a, b = ends
            adjacent[a].append((b, key))
            adjacent[b].append((a, key))
        return adjacent

    def bridges(self, withheld: set[str]) -> set[str]:
        """Withheld cells whose values follow from the published ones (Tarjan's bridges,
        iterative; parallel edges are distinct edges)."""
        ordered = [key for key in self.table.cells if key in withheld]
        adjacent = self._adjacency(ordered)
        order = [-1] * self.vertices
        low = [0] * self.vertices
        found: set[str] = set()
        counter = 0
        for root in range(self.vertices):
            if order[root] != -1:
                continue
            order[root] = low[root] = counter
            counter += 1
            stack: list[tuple[int, str | None, int]] = [(root, None, 0)]
            while stack:
                vertex, via, position = stack[-1]
                if position < len(adjacent[vertex]):
                    stack[-1] = (vertex, via, position + 1)
                    neighbour, key = adjacent[vertex][position]
                    if key == via:
                        continue
                    if order[neighbour] == -1:
                        order[neighbour] = low[neighbour] = counter
                        counter += 1
                        stack.append((neighbour, key, 0))
                    else:
                        low[vertex] = min(low[vertex], order[neighbour])
                    continue
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                    if low[vertex] > order[parent] and via is not None:
                        found.add(via)
        # A withheld cell on no line at all is known only if published, so it is never a
        # bridge; a withheld cell on lines is a bridge exactly when found above.
        return found

    def cheapest_cycle(self, key: str, withheld: set[str]) -> set[str] | None:
        """The cells (beyond ``key``) to withhold so that a cycle runs through ``key``."""
        start, goal = self.ends[key]
        costs: dict[str, int] = {}
        for other in self.table.cells:
            if other == key or other not in self.ends:
                continue
            if other in withheld:
                costs[other] = 0
            elif other not in self.table.fixed:
                costs[other] = self.table.cells[other].value + 1
        adjacent = self._adjacency(costs)
        distance: dict[int, int] = {start: 0}
        previous: dict[int, tuple[int, str]] = {}
        done: set[int] = set()
        queue: list[tuple[int, int, int]] = [(0, 0, start)]
        sequence = 1
        while queue:
            cost, _, vertex = heapq.heappop(queue)
            if vertex in done:
                continue
            done.add(vertex)
            if vertex == goal:
                break
            for neighbour, edge in adjacent[vertex]:
                candidate = cost + costs[edge]
                if neighbour not in done and candidate < distance.get(neighbour, candidate + 1):
                    distance[neighbour] = candidate
                    previous[neighbour] = (vertex, edge)
                    heapq.heappush(queue, (candidate, sequence, neighbour))
                    sequence += 1
        if goal not in done:
            return None
        path: set[str] = set()
        vertex = goal
        while vertex != start:
            vertex, edge = previous[vertex]
            path.add(edge)
        return path - withheld


def determined(unknowns: Iterable[str], equations: Iterable[dict[str, Fraction]]) -> set[str]:
    """Which unknowns a system of linear equations fixes (only the coefficients matter: the
    constants are known). Gaussian elimination in exact arithmetic: an unknown is fixed when
    its pivot row has no other non-zero entry, i.e. the unit vector on it lies in the row
    space. Used for small systems whose coefficients are not all 1 (an item's mean and SD
    relate its counts with weights)."""
    names = list(dict.fromkeys(unknowns))
    rows = [[equation.get(name, Fraction(0)) for name in names] for equation in equations]
    rows = [row for row in rows if any(row)]
    pivots: list[int] = []
    rank = 0
    for column in range(len(names)):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        lead = rows[rank][column]
        rows[rank] = [value / lead for value in rows[rank]]
        for r in range(len(rows)):
            if r != rank and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        pivots.append(column)
        rank += 1
    fixed = set()
    for row_index, column in enumerate(pivots):
        if all(value == 0 for c, value in enumerate(rows[row_index]) if c != column):
            fixed.add(names[column])
    return fixed
