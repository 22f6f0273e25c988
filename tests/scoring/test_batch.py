"""Scoring a CSV of answer sets: the same numbers as one at a time, problems per row."""

from __future__ import annotations

import csv
import io
import tracemalloc
from pathlib import Path

import pytest

import scoring.batch
from scoring.batch import write_scores
from scoring.catalog import Catalog

ITEMS = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]


def run(catalog: Catalog, text: str) -> list[dict[str, str]]:
    loaded = catalog.get("attachment-self-reflection")
    assert loaded is not None
    output = io.StringIO()
    write_scores(loaded.definition, io.StringIO(text), output)
    return list(csv.DictReader(io.StringIO(output.getvalue())))


def test_each_row_is_scored_and_problems_stay_in_their_row(catalog: Catalog) -> None:
    header = ["respondent", *ITEMS, "wb_now"]
    all_fours = ["r1", *["4"] * len(ITEMS), "0"]
    # Every anxiety item 7: reverse-keyed items (anx03, anx07) count as 1 + 7 - 7 = 1,
    # so the mean is (7 * 7 + 2 * 1) / 9 = 51 / 9.
    anxious = ["r2", *["7" if i.startswith("anx") else "1" for i in ITEMS], "1"]
    broken = ["r3", "9", *["4"] * (len(ITEMS) - 1), "yes"]
    text = "\n".join(",".join(row) for row in (header, all_fours, anxious, broken))

    rows = run(catalog, text)

    assert [row["respondent"] for row in rows] == ["r1", "r2", "r3"]
    assert rows[0]["primary_tendency"] == "secure"
    assert float(rows[0]["anxiety_mean"]) == 4.0
    assert rows[0]["crisis_level"] == ""
    assert abs(float(rows[1]["anxiety_mean"]) - 51 / 9) < 1e-12
    assert rows[1]["primary_tendency"] == "anxious"
    assert rows[1]["crisis_level"] == "acute"
    assert rows[2]["anxiety_mean"] == ""
    assert "anx01" in rows[2]["problems"]
    assert rows[2]["crisis_level"] == "acute", "a written 'yes' still counts for risk"


def test_an_empty_cell_is_a_missing_answer(catalog: Catalog) -> None:
    header = ",".join(ITEMS)
    # Two anxiety items left empty: 7 of 9 answered meets the 75% rule (7 >= 6.75).
    row = ",".join("" if i in {"anx01", "anx02"} else "2" for i in ITEMS)

    rows = run(catalog, f"{header}\n{row}\n")

    assert rows[0]["respondent"] == "1"
    assert float(rows[0]["anxiety_mean"]) == (5 * 2 + 2 * 6) / 7  # anx03, anx07 reversed: 6


def _answer_file(path: Path, rows: int) -> None:
    """A CSV of ``rows`` complete answer sets, written a line at a time."""
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(["respondent", *ITEMS, "wb_now"]) + "\n")
        for n in range(rows):
            answers = [str(1 + (n * 7 + k * 3) % 7) for k in range(len(ITEMS))]
            out.write(",".join([f"p{n}", *answers, "1" if n % 101 == 0 else "0"]) + "\n")


def _peak_bytes(catalog: Catalog, source: Path, target: Path) -> tuple[int, int]:
    loaded = catalog.get("attachment-self-reflection")
    assert loaded is not None
    tracemalloc.start()
    try:
        with source.open(encoding="utf-8") as rows, target.open("w", encoding="utf-8") as out:
            count = write_scores(loaded.definition, rows, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def test_a_long_file_is_scored_in_flat_memory(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten times the rows may not need more memory: the file is streamed a chunk at a time
    (small chunks here, so that ten chunks and a hundred are quick to compare)."""
    monkeypatch.setattr(scoring.batch, "CHUNK_ROWS", 1_000)
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _answer_file(small, 5_000)
    _answer_file(large, 50_000)

    small_count, small_peak = _peak_bytes(catalog, small, tmp_path / "small-out.csv")
    large_count, large_peak = _peak_bytes(catalog, large, tmp_path / "large-out.csv")

    assert (small_count, large_count) == (5_000, 50_000)
    assert large_peak < small_peak * 1.25, (small_peak, large_peak)
    with (tmp_path / "large-out.csv").open(encoding="utf-8") as scored:
        assert sum(1 for _ in scored) == 50_001
