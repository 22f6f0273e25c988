"""Scoring many answer sets at once, e.g. a CSV exported from another survey tool.

Input: one row per answer set; a column per item id (an empty cell is a missing answer) and
optionally a ``respondent`` column, copied through. Output: one row per input row with each
dimension's mean (empty when insufficient), band and borderline flag, the primary tendency and
the crisis level. A row with invalid answers is not scored; its ``problems`` column says why.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from scoring.answers import check_answers
from scoring.definition import Definition
from scoring.engine import score
from scoring.risk import assess_risk


def output_columns(definition: Definition) -> list[str]:
    columns = ["respondent"]
    for dimension in definition.dimensions:
        columns += [f"{dimension.id}_mean", f"{dimension.id}_band", f"{dimension.id}_borderline"]
    return [*columns, "primary_tendency", "crisis_level", "problems"]


def _parse_cell(cell: str) -> object:
    text = cell.strip()
    try:
        return int(text)
    except ValueError:
        return text  # refused by check_answers with a message naming the item


def score_rows(definition: Definition, rows: TextIO) -> Iterator[dict[str, str]]:
    for number, row in enumerate(csv.DictReader(rows), start=1):
        respondent = row.pop("respondent", None) or str(number)
        raw = {item: _parse_cell(value) for item, value in row.items() if value and value.strip()}
        risk = assess_risk(definition, raw)
        answers, problems = check_answers(definition, raw)
        out = dict.fromkeys(output_columns(definition), "")
        out["respondent"] = respondent
        out["crisis_level"] = risk.level or ""
        if problems:
            out["problems"] = "; ".join(f"{p.item}: {p.message}" for p in problems)
            yield out
            continue
        scoring = score(definition, answers)
        for dimension_id, result in scoring.dimensions.items():
            out[f"{dimension_id}_mean"] = "" if result.mean is None else repr(result.mean)
            out[f"{dimension_id}_band"] = result.band or ""
            out[f"{dimension_id}_borderline"] = "true" if result.borderline else "false"
        out["primary_tendency"] = scoring.primary_tendency or ""
        yield out


def write_scores(definition: Definition, rows: TextIO, output: TextIO) -> int:
    writer = csv.DictWriter(output, fieldnames=output_columns(definition), lineterminator="\n")
    writer.writeheader()
    count = 0
    for out in score_rows(definition, rows):
        writer.writerow(out)
        count += 1
    return count
