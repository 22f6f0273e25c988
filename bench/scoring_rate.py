"""Batch scoring: answer sets per second, against the single scorer one row at a time.

A CSV of synthetic answer sets (three correlated latent traits, a few answers skipped, some
wellbeing answers that indicate risk) is written once to ``var/bench/``. Measured:

- ``securebase score`` end to end in its own process (start-up, reading, scoring, writing),
  with the process's peak resident memory;
- the same in-process (``scoring.batch.write_scores``), without the interpreter's start-up;
- the matrix rules alone (``BatchScorer.score_matrix``) on answers already in arrays;
- the single scorer row by row on a sample, the way ``securebase score`` worked before.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench"
QUESTIONNAIRE = "attachment-self-reflection"
SINGLE_SAMPLE = 10_000


@dataclass(frozen=True, slots=True)
class ScoringRates:
    rows: int
    cli_per_second: float
    cli_peak_mb: float
    in_process_per_second: float
    in_process_cpu_per_second: float
    matrix_per_second: float
    single_per_second: float


def answer_file(rows: int, seed: int = 2026) -> Path:
    """The CSV of ``rows`` answer sets (made once, written a block at a time)."""
    from scoring.catalog import Catalog

    path = DATA / f"answers-{rows}.csv"
    if path.exists():
        return path
    definition = Catalog.load().definitions[QUESTIONNAIRE].definition
    dimensions = [d.id for d in definition.dimensions]
    items = definition.items
    wellbeing = definition.wellbeing_items
    rng = np.random.default_rng(seed)
    cov = np.full((3, 3), 0.4) + np.eye(3) * 0.6
    DATA.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write(",".join(["respondent", *(i.id for i in items), *(w.id for w in wellbeing)]))
        out.write("\n")
        made = 0
        while made < rows:
            count = min(50_000, rows - made)
            traits = rng.multivariate_normal(np.zeros(3), cov, size=count)
            columns = []
            for k, item in enumerate(items):
                d = dimensions.index(item.dimension)
                value = np.clip(
                    np.rint(4 + 1.3 * traits[:, d] + rng.normal(0, 1, count)), 1, 7
                ).astype(np.int64)
                value = 8 - value if item.reverse else value
                text = value.astype(str).astype(object)
                text[(rng.random(count) < 0.04) & (k % 3 == 0)] = ""
                columns.append(text)
            for w_item in wellbeing:
                high = definition.scales[w_item.scale].max
                value = np.where(rng.random(count) < 0.9, 0, rng.integers(0, high + 1, count))
                columns.append(value.astype(str).astype(object))
            respondents = np.array([f"p{made + n}" for n in range(count)], dtype=object)
            for line in zip(respondents, *columns, strict=True):
                out.write(",".join(line))
                out.write("\n")
            made += count
    partial.rename(path)
    return path


def _cli(path: Path) -> tuple[float, float]:
    """Seconds and peak resident MB of ``securebase score`` on ``path``."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 (our own command)
        [str(Path(sys.executable).parent / "securebase"), "score", QUESTIONNAIRE, str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"securebase score exited with {process.returncode}")
    return seconds, usage.ru_maxrss / 1024


def measure(rows: int) -> ScoringRates:
    from scoring.batch import score_rows, write_scores
    from scoring.catalog import Catalog
    from scoring.vectorized import BatchScorer

    path = answer_file(rows)
    definition = Catalog.load().definitions[QUESTIONNAIRE].definition
    cli_seconds, cli_peak = _cli(path)

    with path.open(encoding="utf-8") as source:
        started, cpu_started = time.perf_counter(), time.process_time()
        write_scores(definition, source, io.StringIO())
        in_process = time.perf_counter() - started
        in_process_cpu = time.process_time() - cpu_started

    scorer = BatchScorer(definition)
    rng = np.random.default_rng(7)
    width = len(scorer.columns)
    values = rng.integers(scorer.lows, scorer.highs + 1, size=(rows, width))
    answered = rng.random((rows, width)) > 0.03
    started = time.perf_counter()
    for first in range(0, rows, 10_000):
        scorer.score_matrix(values[first : first + 10_000], answered[first : first + 10_000])
    matrix = time.perf_counter() - started

    with path.open(encoding="utf-8") as source:
        sample = "".join(source.readline() for _ in range(SINGLE_SAMPLE + 1))
    started = time.perf_counter()
    for _ in score_rows(definition, io.StringIO(sample)):
        pass
    single = time.perf_counter() - started
    return ScoringRates(
        rows=rows,
        cli_per_second=rows / cli_seconds,
        cli_peak_mb=cli_peak,
        in_process_per_second=rows / in_process,
        in_process_cpu_per_second=rows / in_process_cpu,
        matrix_per_second=rows / matrix,
        single_per_second=SINGLE_SAMPLE / single,
    )
