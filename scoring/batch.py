"""Scoring many answer sets at once, e.g. a CSV exported from another survey tool.

Input: one row per answer set; a column per item id (an empty cell is a missing answer) and
optionally a ``respondent`` column, copied through. Output: one row per input row with each
dimension's mean (empty when insufficient), band and borderline flag, the primary tendency and
the crisis level. A row with invalid answers is not scored; its ``problems`` column says why.

The file is read and written ``CHUNK_ROWS`` rows at a time, so memory stays flat however
long it is. Lines without quotes (what survey tools write for numbers) are split and parsed
as arrays of bytes, not cell by cell in Python; from the first quote on, the rest of the file
is read by :mod:`csv`, since a quoted cell may span lines. Each chunk is scored as a matrix
(:mod:`scoring.vectorized`); a row the matrix cannot vouch for (a cell that is not a whole
number, off its scale, in an unknown column, or a row with more cells than the header) is
scored alone by :func:`score_row`, the single scorer, so its problems and crisis level are
exactly those it gets by itself.
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TextIO

import numpy as np

from scoring.definition import Definition
from scoring.vectorized import (
    BAND_NAMES,
    NO_BAND,
    NO_PRIMARY,
    BatchScorer,
    BoolArray,
    Int64Array,
    MatrixScores,
    score_one,
)

CHUNK_ROWS = 10_000
RESPONDENT = "respondent"


def output_columns(definition: Definition) -> list[str]:
    columns = [RESPONDENT]
    for dimension in definition.dimensions:
        columns += [f"{dimension.id}_mean", f"{dimension.id}_band", f"{dimension.id}_borderline"]
    return [*columns, "primary_tendency", "crisis_level", "problems"]


def _parse_cell(cell: str) -> object:
    text = cell.strip()
    try:
        return int(text)
    except ValueError:
        return text  # refused by check_answers with a message naming the item


def score_row(definition: Definition, row: dict[str | None, object], number: int) -> dict[str, str]:
    """One row as :class:`csv.DictReader` reads it, scored alone."""
    extra = row.pop(None, None)
    respondent = row.pop(RESPONDENT, None) or str(number)
    raw = {
        item: _parse_cell(value)
        for item, value in row.items()
        if item is not None and isinstance(value, str) and value.strip()
    }
    result = score_one(definition, raw)
    out = dict.fromkeys(output_columns(definition), "")
    out[RESPONDENT] = str(respondent)
    out["crisis_level"] = result.risk.level or ""
    problems = [f"{p.item}: {p.message}" for p in result.problems]
    if isinstance(extra, list):
        problems.append(f"row {number}: {len(extra)} cell(s) more than the header has columns")
    if problems or result.scoring is None:
        out["problems"] = "; ".join(problems)
        return out
    for dimension_id, dimension in result.scoring.dimensions.items():
        out[f"{dimension_id}_mean"] = "" if dimension.mean is None else repr(dimension.mean)
        out[f"{dimension_id}_band"] = dimension.band or ""
        out[f"{dimension_id}_borderline"] = "true" if dimension.borderline else "false"
    out["primary_tendency"] = result.scoring.primary_tendency or ""
    return out


def score_rows(definition: Definition, rows: TextIO) -> Iterator[dict[str, str]]:
    """Every row scored alone, one after the other (the reference for :func:`write_scores`)."""
    for number, row in enumerate(csv.DictReader(rows), start=1):
        yield score_row(definition, dict(row), number)


_EMPTY, _WHOLE, _OTHER = 0, 1, 2
_NEWLINE, _COMMA, _ZERO = ord("\n"), ord(","), ord("0")
_MAX_DIGITS = 9
_INT64_LIMIT = 2**62


class _CellCodes(dict[str, int]):
    """Every distinct cell text gets a code; its status and value are parsed once, by the
    same rules as :func:`_parse_cell` (answer cells take only a handful of texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.status: list[int] = []
        self.value: list[int] = []

    def __missing__(self, cell: str) -> int:
        status, value = _EMPTY, 0
        if cell.strip():
            parsed = _parse_cell(cell)
            if isinstance(parsed, int) and -_INT64_LIMIT < parsed < _INT64_LIMIT:
                status, value = _WHOLE, parsed
            else:
                status = _OTHER
        code = self[cell] = len(self.status)
        self.status.append(status)
        self.value.append(value)
        return code


class _Layout:
    """What each column of the file is: the scorer's column it fills, the respondent, or
    something the definition does not know (a row with a value there has a problem)."""

    def __init__(self, scorer: BatchScorer, fieldnames: Sequence[str]) -> None:
        self.fieldnames = list(fieldnames)
        # As in a dict built from the header, a repeated column name keeps its last cell.
        last = {name: position for position, name in enumerate(fieldnames)}
        self.respondent = last.get(RESPONDENT)
        self.answer_positions = [
            p for name, p in last.items() if name in scorer.column_of and name != RESPONDENT
        ]
        self.answer_columns = [scorer.column_of[fieldnames[p]] for p in self.answer_positions]
        self.unknown_positions = [
            p for name, p in last.items() if name not in scorer.column_of and name != RESPONDENT
        ]

        read = self.answer_positions + self.unknown_positions
        self.cells: Callable[[list[str]], Sequence[str]] = (
            operator.itemgetter(*read) if len(read) > 1 else lambda cells: [cells[p] for p in read]
        )

    def as_dict(self, cells: list[str]) -> dict[str | None, object]:
        """The row as :class:`csv.DictReader` gives it."""
        names = self.fieldnames
        row: dict[str | None, object] = dict(zip(names, cells, strict=False))
        if len(names) < len(cells):
            row[None] = cells[len(names) :]
        else:
            for name in names[len(cells) :]:
                row[name] = None
        return row


class _ChunkScorer:
    def __init__(self, definition: Definition, fieldnames: Sequence[str]) -> None:
        self.definition = definition
        self.scorer = BatchScorer(definition)
        self.layout = _Layout(self.scorer, fieldnames)
        self.codes = _CellCodes()
        self.width = len(fieldnames)

    def score(self, chunk: list[list[str]], first_number: int) -> str:
        """The output lines for ``chunk`` (its first row is number ``first_number``)."""
        layout = self.layout
        regular = [i for i, cells in enumerate(chunk) if len(cells) == self.width]
        out: list[str | None] = [None] * len(chunk)
        if regular and self.scorer.vectorizable:
            plain_rows, lines = self._score_regular(
                [chunk[i] for i in regular], [first_number + i for i in regular]
            )
            for i, line in zip(plain_rows, lines, strict=True):
                out[regular[i]] = line
        columns = output_columns(self.definition)
        for i, cells in enumerate(chunk):
            if out[i] is None:
                scored = score_row(self.definition, layout.as_dict(cells), first_number + i)
                out[i] = _csv_line([scored[c] for c in columns])
        return "\n".join(line for line in out if line is not None) + "\n"

    def _score_regular(
        self, rows: list[list[str]], numbers: list[int]
    ) -> tuple[list[int], list[str]]:
        """Score the rows the matrix can vouch for; returns their indexes and output lines."""
        layout, scorer, codes = self.layout, self.scorer, self.codes
        n = len(rows)
        read = layout.answer_positions + layout.unknown_positions
        flat = np.fromiter(
            map(codes.__getitem__, itertools.chain.from_iterable(map(layout.cells, rows))),
            dtype=np.int64,
            count=n * len(read),
        ).reshape(n, len(read))
        status_table = np.array(codes.status, dtype=np.int8)
        value_table = np.array(codes.value, dtype=np.int64)
        answer_codes = flat[:, : len(layout.answer_positions)]
        status = status_table[answer_codes]
        values_in_file = value_table[answer_codes]
        columns = np.array(layout.answer_columns, dtype=np.intp)
        given = status == _WHOLE
        on_scale = (values_in_file >= scorer.lows[columns]) & (
            values_in_file <= scorer.highs[columns]
        )
        plain = ~((status == _OTHER) | (given & ~on_scale)).any(axis=1)
        if layout.unknown_positions:
            unknown = status_table[flat[:, len(layout.answer_positions) :]] != _EMPTY
            plain &= ~unknown.any(axis=1)
        chosen = np.flatnonzero(plain)
        respondents = self._respondents(rows, chosen.tolist(), numbers)
        return chosen.tolist(), self._scored(given[chosen], values_in_file[chosen], respondents)

    def _scored(
        self, given: BoolArray, values_in_file: Int64Array, respondents: list[str]
    ) -> list[str]:
        """The output lines of rows whose answer cells are all empty or whole numbers on
        their items' scales (one column per answer position of the file)."""
        scorer = self.scorer
        columns = np.array(self.layout.answer_columns, dtype=np.intp)
        values = np.zeros((len(respondents), len(scorer.columns)), dtype=np.int64)
        answered = np.zeros((len(respondents), len(scorer.columns)), dtype=np.bool_)
        values[:, columns] = np.where(given, values_in_file, 0)
        answered[:, columns] = given
        return _format(scorer, scorer.score_matrix(values, answered), respondents)

    def score_plain(self, block: str, first_number: int) -> tuple[str, int]:
        """The output lines for ``block``, whole lines of a file without quotes or carriage
        returns (so each line is one row and its cells are split at commas, as
        :mod:`csv` splits them), and how many rows it held (blank lines are not rows).

        The cells are read from the bytes as arrays: a cell made only of ASCII digits
        (at most 9) or empty is what :func:`_parse_cell` makes of it; a row with any other
        cell, or with more or fewer cells than the header, is scored by :meth:`score`."""
        data = block.encode("utf-8", "surrogatepass")
        if not data.endswith(b"\n"):
            data += b"\n"
        buf = np.frombuffer(data, dtype=np.uint8)
        is_newline = buf == _NEWLINE
        newlines = np.flatnonzero(is_newline)
        starts = np.concatenate(([0], newlines[:-1] + 1))
        kept = starts != newlines  # a blank line is no row
        separators = np.flatnonzero((buf == _COMMA) | is_newline)
        # A separator's line: the newlines before it (its own, if it is one, not counted).
        line_of = np.cumsum(is_newline)[separators] - is_newline[separators]
        cells_in_line = np.bincount(line_of, minlength=len(newlines))
        numbers = first_number + np.cumsum(kept) - 1
        regular = kept & (cells_in_line == self.width)
        in_regular = regular[line_of]
        width = max(self.width, 1)  # a header of no columns has no regular rows
        ends = separators[in_regular].reshape(-1, width)
        before = np.concatenate(([-1], separators[:-1]))
        begins = before[in_regular].reshape(-1, width) + 1
        layout = self.layout
        answer = np.array(layout.answer_positions, dtype=np.intp)
        first, length = begins[:, answer], ends[:, answer] - begins[:, answer]
        plain = (length <= _MAX_DIGITS).all(axis=1)
        values_in_file = np.zeros(first.shape, dtype=np.int64)
        for place in range(min(int(length.max(initial=0)), _MAX_DIGITS)):
            inside = length > place
            digit = buf[np.where(inside, first + place, 0)].astype(np.int64) - _ZERO
            plain &= (~inside | ((digit >= 0) & (digit <= 9))).all(axis=1)
            values_in_file = np.where(inside, values_in_file * 10 + digit, values_in_file)
        given = length > 0
        columns = np.array(layout.answer_columns, dtype=np.intp)
        on_scale = (values_in_file >= self.scorer.lows[columns]) & (
            values_in_file <= self.scorer.highs[columns]
        )
        plain &= ~(given & ~on_scale).any(axis=1)
        if layout.unknown_positions:
            unknown = np.array(layout.unknown_positions, dtype=np.intp)
            plain &= (ends[:, unknown] == begins[:, unknown]).all(axis=1)
        if not self.scorer.vectorizable:
            plain[:] = False
        regular_lines = np.flatnonzero(regular)
        chosen = np.flatnonzero(plain)
        row_numbers = numbers[regular_lines[chosen]].tolist()
        if layout.respondent is None:
            respondents = list(map(str, row_numbers))
        else:
            spans = zip(
                begins[chosen, layout.respondent].tolist(),
                ends[chosen, layout.respondent].tolist(),
                strict=True,
            )
            respondents = [data[b:e].decode("utf-8", "surrogatepass") for b, e in spans]
            for i, given_name in enumerate(respondents):
                if not given_name:
                    respondents[i] = str(row_numbers[i])
            if not _PLAIN.fullmatch("".join(respondents) or "x"):
                respondents = [_csv_field(field) for field in respondents]
        out: list[str | None] = [None] * len(newlines)
        fast = self._scored(given[chosen], values_in_file[chosen], respondents)
        for line, text in zip(regular_lines[chosen].tolist(), fast, strict=True):
            out[line] = text
        columns_out = output_columns(self.definition)
        for line in np.flatnonzero(kept).tolist():
            if out[line] is None:
                cells = (
                    data[starts[line] : newlines[line]].decode("utf-8", "surrogatepass").split(",")
                )
                scored = score_row(self.definition, layout.as_dict(cells), int(numbers[line]))
                out[line] = _csv_line([scored[c] for c in columns_out])
        lines = [line for line in out if line is not None]
        return ("\n".join(lines) + "\n" if lines else ""), len(lines)

    def _respondents(
        self, rows: list[list[str]], chosen: list[int], numbers: list[int]
    ) -> list[str]:
        position = self.layout.respondent
        if position is None:
            return [str(numbers[i]) for i in chosen]
        given = [rows[i][position] or str(numbers[i]) for i in chosen]
        if not given or _PLAIN.fullmatch("".join(given)):
            return given  # nothing that CSV would quote
        return [_csv_field(field) for field in given]


def _csv_line(fields: list[str]) -> str:
    """One line as :mod:`csv` writes it (quoted where needed), without its line end."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(fields)
    return text.getvalue()[:-1]


_PLAIN = re.compile(r"[A-Za-z0-9_.:+\- ]+")


def _csv_field(field: str) -> str:
    """A field as :mod:`csv` writes it among others; only unusual text goes through it."""
    return field if _PLAIN.fullmatch(field) else _csv_line([field, ""])[:-1]


def _format(scorer: BatchScorer, scores: MatrixScores, respondents: list[str]) -> list[str]:
    """Output lines, column by column: each distinct mean is written once with ``repr``.
    Every field but the respondent is a number or a fixed word, which CSV never quotes."""
    n = len(respondents)
    columns: list[Iterable[str]] = [respondents]
    for d in range(len(scorer.definition.dimensions)):
        sufficient = scores.sufficient[:, d]
        distinct, inverse = np.unique(scores.means[sufficient, d], return_inverse=True)
        texts = np.array([repr(m) for m in distinct.tolist()] + [""], dtype=object)
        where = np.full(n, len(distinct), dtype=np.intp)
        where[sufficient] = inverse.reshape(-1)
        columns.append(texts[where].tolist())
        band_texts = np.array([*BAND_NAMES, ""], dtype=object)  # NO_BAND (-1) picks ""
        assert band_texts[NO_BAND] == ""
        columns.append(band_texts[scores.bands[:, d]].tolist())
        columns.append(np.where(scores.borderline[:, d], "true", "false").tolist())
    primary_texts = np.array([*(name or "" for name in scorer.primary_names), ""], dtype=object)
    assert primary_texts[NO_PRIMARY] == ""
    columns.append(primary_texts[scores.primary].tolist())
    columns.append([r.level or "" for r in scores.risk])
    columns.append([""] * n)
    return list(map(",".join, zip(*columns, strict=True)))


def write_scores(definition: Definition, rows: TextIO, output: TextIO) -> int:
    """Score every row of ``rows`` into ``output``, a chunk at a time; returns the count."""
    output.write(_csv_line(output_columns(definition)) + "\n")
    lines = iter(rows)
    fieldnames = next(csv.reader(lines), None)  # reads the header's lines, no further
    if fieldnames is None:
        return 0
    chunker = _ChunkScorer(definition, fieldnames)
    count = 0
    while block := list(itertools.islice(lines, CHUNK_ROWS)):
        text = "".join(block)
        if '"' in text or "\r" in text:
            # Quoted cells may span lines: from here on, rows as the csv module reads them.
            # csv.DictReader skips blank lines and does not number them; so does this.
            records = filter(None, csv.reader(itertools.chain(block, lines)))
            while chunk := list(itertools.islice(records, CHUNK_ROWS)):
                output.write(chunker.score(chunk, count + 1))
                count += len(chunk)
            return count
        scored, rows_in_block = chunker.score_plain(text, count + 1)
        output.write(scored)
        count += rows_in_block
    return count
