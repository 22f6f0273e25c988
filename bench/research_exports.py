"""Benchmark of the research exports: time and memory from a thousand to a million responses.

For each backend (SQLite always; PostgreSQL when ``SECUREBASE_BENCH_POSTGRES_URL`` or
``SECUREBASE_TEST_POSTGRES_URL`` names a server) and each size, a database is built once and
kept (``var/bench/`` for SQLite, ``securebase_bench_<size>`` on the server): migrated, then
filled directly with synthetic submitted responses with research consent. Answers come from
three correlated latent traits (a few skipped), each row is scored by the scoring engine for
its primary tendency and crisis level, and its stored result document is a real one of the
same tendency, so rows have their real size (the exports never read that document). Studies
and countries vary; rows are in the order people answered, over 300 days.

Each export then runs in a fresh process, through the HTTP API with a researcher key, twice;
the table shows the faster time and the larger growth of the process's peak resident memory
over its size just before the request. Results go to ``bench/results/research-exports.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results" / "research-exports.md"
QUICK_RESULTS = ROOT / "bench" / "results" / "research-exports-quick.md"
QUESTIONNAIRE = "attachment-self-reflection"
DEFAULT_SIZES = (1_000, 100_000, 1_000_000)
EXPORTS: dict[str, dict[str, str]] = {
    "summary": {},
    "summary by study": {"group_by": "study", "period": "week"},
    "histograms": {},
    "items": {},
    "summary (csv)": {"format": "csv"},
}
BATCH = 20_000
COLUMNS = (
    "id, token_hash, questionnaire_id, questionnaire_version, questionnaire_hash, language, "
    "country, study, research_consent, status, answers, answer_layout, result_frame, "
    "result_values, "
    "primary_tendency, "
    "crisis_level, crisis_items, created_at, updated_at, submitted_at, expires_at, "
    "research_answers"
)


def rows(
    size: int, contents: dict[str, tuple[int, str]], seed: int = 2026
) -> Iterator[tuple[Any, ...]]:
    """Synthetic submitted responses, ``BATCH`` at a time in memory at most; the shared
    result content they refer to is collected in ``contents`` (hash: id and body)."""
    from app.models.columns import content_hash_bytes
    from app.services import stored_results
    from app.services.research import answer_bytes
    from scoring import answer_copy
    from scoring.catalog import Catalog
    from scoring.engine import score
    from scoring.result import compose_result
    from scoring.risk import assess_risk

    catalog = Catalog.load()
    loaded = catalog.definitions[QUESTIONNAIRE]
    definition = loaded.definition
    rng = np.random.default_rng(seed)
    documents: dict[str | None, tuple[int, str]] = {}

    def stored(content: stored_results.Content) -> int:
        if content.hash not in contents:
            contents[content.hash] = (len(contents) + 1, content.body)
        return contents[content.hash][0]

    layout = answer_copy.layout_of(definition)
    answer_layout = stored(stored_results.content(answer_copy.layout_text(layout)))
    dimensions = [d.id for d in definition.dimensions]
    items = [(i.id, dimensions.index(i.dimension), i.reverse) for i in definition.items]
    cov = np.full((3, 3), 0.4) + np.eye(3) * 0.6
    start = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    made = 0
    while made < size:
        count = min(BATCH, size - made)
        traits = rng.multivariate_normal(np.zeros(3), cov, size=count)
        noise = rng.normal(0, 1, size=(count, len(items)))
        skipped = rng.random(size=(count, len(items))) < 0.04
        for row in range(count):
            answers: dict[str, int] = {}
            for column, (item_id, dimension, reverse) in enumerate(items):
                # Items alternate between dimensions: at most the first two of each skipped.
                if skipped[row, column] and column // len(dimensions) < 2:
                    continue
                value = int(
                    np.clip(np.rint(4 + 1.3 * traits[row, dimension] + noise[row, column]), 1, 7)
                )
                answers[item_id] = 8 - value if reverse else value
            if rng.random() < 0.08:
                answers["wb_life"] = 1
            scoring = score(definition, answers)
            risk = assess_risk(definition, answers)
            primary = scoring.primary_tendency
            if primary not in documents:
                result = compose_result(
                    definition=definition,
                    definition_hash=loaded.content_hash,
                    scoring=scoring,
                    risk=risk,
                    language="en",
                    country=None,
                    content=catalog.content,
                    crisis=catalog.crisis,
                )
                compact = stored_results.split(result)
                frame = stored_results.frame_of([stored(p) for p in compact.pieces])
                documents[primary] = (stored(frame), compact.values)
            index = made + row
            # Rows arrive in the order people took the questionnaire, over 300 days.
            offset = index * 300 * 86400 / size + float(rng.uniform(0, 3600))
            moment = start + dt.timedelta(seconds=offset)
            yield (
                f"bench{index:014d}",
                bytes(32),
                QUESTIONNAIRE,
                definition.version,
                content_hash_bytes(loaded.content_hash),
                "en",
                ["DE", "GB", "FR", "NL", None][index % 5],
                f"study-{index % 7}",
                True,
                "submitted",
                answer_copy.pack(layout, answers),
                answer_layout,
                *documents[primary],
                primary,
                risk.level,
                json.dumps(list(risk.triggered_by)),
                moment,
                moment,
                moment,
                None,
                answer_bytes.encode(definition, answers),
            )
        made += count


def _sqlite_path(size: int) -> Path:
    return DATA / f"research-{size}.db"


def build_sqlite(size: int) -> str:
    from app import migrations

    path = _sqlite_path(size)
    marker = path.with_suffix(".ready")
    url = f"sqlite:///{path}"
    built_for = f"{size} {' '.join(sorted(migrations.head_revisions(url)))}"
    if marker.exists() and path.exists() and marker.read_text() == built_for:
        return url
    DATA.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    migrations.upgrade(url)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    placeholders = ", ".join("?" * 22)
    insert = f"INSERT INTO response_session ({COLUMNS}) VALUES ({placeholders})"  # noqa: S608
    batch: list[tuple[Any, ...]] = []
    contents: dict[str, tuple[int, str]] = {}
    for row in rows(size, contents):
        stored = list(row)
        for position in (17, 18, 19):
            stored[position] = stored[position].strftime("%Y-%m-%d %H:%M:%S.%f")
        batch.append(tuple(stored))
        if len(batch) == BATCH:
            connection.executemany(insert, batch)
            connection.commit()
            batch = []
    if batch:
        connection.executemany(insert, batch)
    connection.executemany(
        "INSERT INTO result_content (id, hash, body) VALUES (?, ?, ?)",
        [(ident, digest, body) for digest, (ident, body) in contents.items()],
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()
    marker.write_text(built_for)
    return url


def build_postgres(server: str, size: int) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    from app import migrations

    base = make_url(server)
    name = f"securebase_bench_{size}"
    url = base.set(database=name).render_as_string(hide_password=False)
    plain = base.set(drivername="postgresql")
    admin_url = plain.set(database="postgres").render_as_string(hide_password=False)
    target_url = plain.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        with psycopg.connect(target_url) as connection:
            found = connection.execute("SELECT count(*) FROM response_session").fetchone()
            version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            current = {row[0] for row in version} == migrations.head_revisions(url)
            if found is not None and found[0] == size and current:
                return url
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    migrations.upgrade(url)
    with psycopg.connect(target_url) as connection:
        contents: dict[str, tuple[int, str]] = {}
        with connection.cursor().copy(f"COPY response_session ({COLUMNS}) FROM STDIN") as copy:
            for row in rows(size, contents):
                copy.write_row(row)
        connection.cursor().executemany(
            "INSERT INTO result_content (id, hash, body) VALUES (%s, %s, %s)",
            [(ident, digest, body) for digest, (ident, body) in contents.items()],
        )
        connection.execute(
            "SELECT setval(pg_get_serial_sequence('result_content', 'id'), "
            "(SELECT max(id) FROM result_content))"
        )
        connection.commit()
    with psycopg.connect(target_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE response_session")
    return url


def measure(url: str, export: str) -> dict[str, float]:
    """One export in a fresh process: seconds, and resident memory added (MB)."""
    child = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "bench.research_exports", "--child", url, export],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SECUREBASE_LOG_LEVEL": "ERROR"},
    )
    if child.returncode != 0:
        raise RuntimeError(f"{export} on {url}: {child.stderr[-2000:]}")
    result: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    """Start the peak resident set (VmHWM) afresh from the current one (Linux 4.0+).

    Not ``ru_maxrss``: that keeps the high-water mark of the parent process the child was
    forked from, which after building a large database is higher than anything measured here.
    """
    Path("/proc/self/clear_refs").write_text("5")


def child(url: str, export: str) -> None:
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from app.config import Settings
    from app.main import create_app
    from app.services.research.access import create_key

    app = create_app(Settings(database_url=url, log_level="ERROR"))
    with Session(app.state.engine) as session:
        _, key = create_key(session, "bench", [], dt.datetime.now(dt.UTC))
        session.commit()
    endpoint = export.split(" ")[0]
    params = {"questionnaire_id": QUESTIONNAIRE, **EXPORTS[export]}
    with TestClient(app) as client:
        client.get("/healthz")
        _reset_peak()
        before = _status_mb("VmRSS")
        started = time.perf_counter()
        response = client.get(
            f"/api/v1/research/{endpoint}",
            params=params,
            headers={"Authorization": f"Bearer {key}"},
        )
        seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    if response.status_code != 200:
        raise SystemExit(f"{response.status_code}: {response.text[:500]}")
    n = response.json()["n"] if endpoint != "summary" or "format" not in params else None
    print(json.dumps({"seconds": seconds, "added_mb": max(0.0, peak - before), "n": n}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--quick", action="store_true", help=f"one run per export, into {QUICK_RESULTS.name}"
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "EXPORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    server = os.environ.get("SECUREBASE_BENCH_POSTGRES_URL") or os.environ.get(
        "SECUREBASE_TEST_POSTGRES_URL"
    )
    backends = [b for b in args.backends.split(",") if b == "sqlite" or server]
    lines = [
        "| backend | responses | export | seconds | memory added (MB) |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    print(lines[0])
    print(lines[1])
    for backend in backends:
        for size in sizes:
            started = time.perf_counter()
            url = build_sqlite(size) if backend == "sqlite" else build_postgres(server or "", size)
            setup = time.perf_counter() - started
            if setup > 1:
                print(
                    f"(built {backend} with {size:,} responses in {setup:.0f} s)", file=sys.stderr
                )
            for export in EXPORTS:
                runs = [measure(url, export) for _ in range(1 if args.quick else 2)]
                seconds = min(r["seconds"] for r in runs)
                added = max(r["added_mb"] for r in runs)
                line = f"| {backend} | {size:,} | {export} | {seconds:.2f} | {added:.1f} |"
                lines.append(line)
                print(line, flush=True)
    results = QUICK_RESULTS if args.quick else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    header = io.StringIO()
    header.write("# Research exports benchmark\n\n")
    header.write(f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `make bench` on ")
    header.write(
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
    )
    header.write(f"SQLite {sqlite3.sqlite_version}.\n")
    header.write(
        f"Each export through the HTTP API in a fresh process, best of {1 if args.quick else 2}; "
        "memory is the growth "
        "of the process's peak resident set during the request.\n\n"
    )
    results.write_text(header.getvalue() + "\n".join(lines) + "\n")
    print(f"\nresults written to {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
