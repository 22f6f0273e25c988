"""Benchmark of the research exports: time and memory from a thousand to a million responses.

For each backend (SQLite always; PostgreSQL when ``SECUREBASE_BENCH_POSTGRES_URL`` or
``SECUREBASE_TEST_POSTGRES_URL`` names a server) and each size, a database is built once and
kept (``var/bench/`` for SQLite, ``securebase_bench_<size>_v<n>`` on the server): migrated,
then filled in bulk with synthetic submitted responses with research consent. Answers come
from three correlated latent traits (a few skipped, some indicating risk); each row is what
the submission service stores for them (scores, result content and values, crisis level,
research copy), which :func:`check_against_service` proves on a sample through
``app.services.responses.start`` before every build. Studies and countries vary; rows are in
the order people answered, over 300 days.

Databases larger than :data:`DISTINCT` responses hold copies of the ``DISTINCT``-response
database's rows (every column the same but the id), which is built first: generating a
million distinct rows in Python takes the better part of an hour on a small shared machine,
copying them a minute. The exports do the same work per row either way (nothing in them
depends on how many answer sets are distinct), and the counts are exactly the multiple.

Each export then runs in a fresh process, through the HTTP API with a researcher key, twice;
the table shows the faster time, the smaller CPU time of the application's process and the
larger growth of the process's peak resident memory over its size just before the request.
Results go to ``bench/results/research-exports.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
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
DISTINCT = 100_000
"""The most distinct answer sets a database holds; larger ones are copies of that one."""
ROWS_VERSION = 5
"""Raised whenever :func:`rows` makes different rows, so databases built before are rebuilt."""
COLUMNS = (
    "id, token_hash, questionnaire_id, questionnaire_version, questionnaire_hash, language, "
    "country, study, research_consent, status, answers, answer_layout, result_frame, "
    "result_values, primary_tendency, "
    "crisis_level, crisis_items, created_at, updated_at, submitted_at, expires_at, "
    "research_answers, research_codes"
)


def _answer_sets(size: int, seed: int) -> Iterator[tuple[int, dict[str, int]]]:
    """``size`` synthetic answer sets (index, answers), ``BATCH`` at a time in memory."""
    from scoring.catalog import Catalog

    definition = Catalog.load().definitions[QUESTIONNAIRE].definition
    rng = np.random.default_rng(seed)
    dimensions = [d.id for d in definition.dimensions]
    items = [(i.id, dimensions.index(i.dimension), i.reverse) for i in definition.items]
    cov = np.full((3, 3), 0.4) + np.eye(3) * 0.6
    made = 0
    while made < size:
        count = min(BATCH, size - made)
        traits = rng.multivariate_normal(np.zeros(3), cov, size=count)
        noise = rng.normal(0, 1, size=(count, len(items)))
        skipped = rng.random(size=(count, len(items))) < 0.04
        risky = rng.random(size=count) < 0.08
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
            if risky[row]:
                answers["wb_life"] = 1
            yield made + row, answers
        made += count


def _country(index: int) -> str | None:
    return ["DE", "GB", "FR", "NL", None][index % 5]


def rows(
    size: int, contents: dict[str, tuple[int, str]], seed: int = 2026
) -> Iterator[tuple[Any, ...]]:
    """Synthetic submitted responses with research consent, as the submission service stores
    them (:func:`check_against_service` proves it on a sample before a database is built);
    the shared result content they refer to is collected in ``contents`` (hash: id, body).

    The bulk path does what ``app.services.responses.start`` does for a submission, without
    a session per row: it scores, composes the result (once per distinct scoring, risk and
    country, which repeat), splits it into content and values, and encodes the research copy.
    """
    from app.models.columns import content_hash_bytes
    from app.repositories import research_codes
    from app.services import stored_results
    from scoring import answer_copy
    from scoring.catalog import Catalog
    from scoring.engine import score
    from scoring.result import compose_result
    from scoring.risk import assess_risk

    catalog = Catalog.load()
    loaded = catalog.definitions[QUESTIONNAIRE]
    definition = loaded.definition
    compacts: dict[tuple[Any, ...], tuple[int, str]] = {}

    def stored(content: stored_results.Content) -> int:
        if content.hash not in contents:
            contents[content.hash] = (len(contents) + 1, content.body)
        return contents[content.hash][0]

    layout = answer_copy.layout_of(definition)
    answer_layout = stored(stored_results.content(answer_copy.layout_text(layout)))
    start = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    jitter = np.random.default_rng(seed + 1)
    for index, answers in _answer_sets(size, seed):
        scoring = score(definition, answers)
        risk = assess_risk(definition, answers)
        country = _country(index)
        key = (repr(scoring), risk, country)
        compact = compacts.get(key)
        if compact is None:
            result = compose_result(
                definition=definition,
                definition_hash=loaded.content_hash,
                scoring=scoring,
                risk=risk,
                language="en",
                country=country,
                content=catalog.content,
                crisis=catalog.crisis,
            )
            split = stored_results.split(catalog.with_norms(loaded, result))
            frame = stored_results.frame_of([stored(p) for p in split.pieces])
            compact = (stored(frame), split.values)
            if len(compacts) < 200_000:
                compacts[key] = compact
        # Rows arrive in the order people took the questionnaire, over 300 days.
        offset = index * 300 * 86400 / size + float(jitter.uniform(0, 3600))
        moment = start + dt.timedelta(seconds=offset)
        copy = answer_copy.encode(definition, answers)
        yield (
            f"bench{index:014d}",
            bytes(32),
            QUESTIONNAIRE,
            definition.version,
            content_hash_bytes(loaded.content_hash),
            "en",
            country,
            f"study-{index % 7}",
            True,
            "submitted",
            answer_copy.pack(layout, answers),
            answer_layout,
            *compact,
            scoring.primary_tendency,
            risk.level,
            json.dumps(list(risk.triggered_by)),
            moment,
            moment,
            moment,
            None,
            copy,
            research_codes.codes_of(loaded.content_hash, definition, copy),
        )


COMPARED = (
    "questionnaire_id, questionnaire_version, questionnaire_hash, language, country, "
    "research_consent, status, answers, primary_tendency, crisis_level, crisis_items, "
    "research_answers, research_codes"
)


def check_against_service(sample: int = 300) -> None:
    """The bulk rows of the first ``sample`` answer sets are what the submission service
    stores for them (every column the exports read, and the stored result as a whole);
    raises if one differs. Study, ids, token and times are the bench's own."""
    import tempfile

    from sqlmodel import Session

    from app import migrations
    from app.config import Settings
    from app.db import create_db_engine
    from app.schemas.responses import CreateResponseRequest
    from app.services import responses, stored_results
    from app.services.locale import RequestLocale
    from app.services.responses import ResponseContext
    from scoring.catalog import Catalog

    names = [c.strip() for c in COLUMNS.split(",")]
    compared = [c.strip() for c in COMPARED.split(",")]
    contents: dict[str, tuple[int, str]] = {}
    bulk = [dict(zip(names, row, strict=True)) for row in rows(sample, contents)]
    bodies = {ident: body for ident, body in contents.values()}
    with tempfile.TemporaryDirectory(prefix="securebase-bench-check-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'check.db'}"
        migrations.upgrade(url)
        settings = Settings(database_url=url, log_level="ERROR")
        engine = create_db_engine(settings)
        try:
            with Session(engine) as session:
                ctx = ResponseContext(session, Catalog.load(), settings)
                for index, answers in _answer_sets(sample, 2026):
                    request = CreateResponseRequest(
                        questionnaire_id=QUESTIONNAIRE,
                        answers=answers,  # type: ignore[arg-type]
                        submit=True,
                        consent={"research": True},  # type: ignore[arg-type]
                        lang="en",
                        country=_country(index),
                    )
                    responses.start(ctx, request, RequestLocale(), None)
                session.commit()
            connection = sqlite3.connect(Path(scratch) / "check.db")
            served = connection.execute(
                f"SELECT {COMPARED}, result_frame, result_values FROM response_session "  # noqa: S608
                "ORDER BY rowid"
            ).fetchall()
            kept = dict(connection.execute("SELECT id, body FROM result_content").fetchall())
            connection.close()
        finally:
            engine.dispose()

    def document(frame: int, values: str, lookup: dict[int, str]) -> object:
        pieces = [lookup[int(i)] for i in lookup[frame].split(stored_results.SEPARATOR)]
        return stored_results.stored_document(pieces, values)

    for made, got in zip(bulk, served, strict=True):
        theirs = dict(zip(compared, got[: len(compared)], strict=True))
        for column in compared:
            mine = made[column]
            if column == "crisis_items":
                same = json.loads(mine) == json.loads(theirs[column])
            elif column == "research_consent":
                same = bool(mine) == bool(theirs[column])
            else:
                same = mine == theirs[column]
            if not same:
                raise AssertionError(f"bulk row differs from the service in {column}")
        if document(made["result_frame"], made["result_values"], bodies) != document(
            got[-2], got[-1], kept
        ):
            raise AssertionError("bulk row's stored result differs from the service's")


def _sqlite_path(size: int) -> Path:
    return DATA / f"research-{size}-v{ROWS_VERSION}.db"


def build_sqlite(size: int) -> str:
    from app import migrations

    path = _sqlite_path(size)
    marker = path.with_suffix(".ready")
    url = f"sqlite:///{path}"
    built_for = f"{size} {' '.join(sorted(migrations.head_revisions()))}"
    if marker.exists() and path.exists() and marker.read_text() == built_for:
        kept = sqlite3.connect(path)
        found = kept.execute("SELECT count(*) FROM response_session").fetchone()[0]
        kept.close()
        if found == size:
            return url
    if size > DISTINCT and size % DISTINCT == 0:
        _copy_sqlite(build_sqlite(DISTINCT), path, size // DISTINCT)
        marker.write_text(built_for)
        return url
    check_against_service()
    DATA.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    migrations.upgrade(url)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    placeholders = ", ".join("?" * 23)
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


COPIED = ", ".join(
    "'bench-c' || n || '-' || id" if c.strip() == "id" else c.strip() for c in COLUMNS.split(",")
)
"""The columns of a copy of a response (``n``: the copy's number). Its id starts with
``bench`` as the original's does: the submit benchmark keeps exactly those rows of the shared
database when it removes what its load submitted (``suite._remove_bench_submissions``)."""


def _copy_sqlite(source_url: str, path: Path, copies: int) -> None:
    """``path``: the database of ``source_url`` with its responses ``copies`` times."""
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    source = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    source.backup(connection)
    source.close()
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-1000000")
    connection.execute(
        "WITH RECURSIVE copy(n) AS "  # noqa: S608
        f"(SELECT 1 UNION ALL SELECT n + 1 FROM copy WHERE n < {copies - 1}) "
        f"INSERT INTO response_session ({COLUMNS}) SELECT {COPIED} FROM response_session, copy"
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def build_postgres(server: str, size: int) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    from app import migrations

    base = make_url(server)
    name = f"securebase_bench_{size}_v{ROWS_VERSION}"
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
            current = {row[0] for row in version} == migrations.head_revisions()
            if found is not None and found[0] == size and current:
                return url
    if size > DISTINCT and size % DISTINCT == 0:
        source = make_url(build_postgres(server, DISTINCT)).database
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        with psycopg.connect(target_url) as connection:
            connection.execute(
                f"INSERT INTO response_session ({COLUMNS}) "  # noqa: S608
                f"SELECT {COPIED} "
                f"FROM response_session, generate_series(1, {size // DISTINCT - 1}) AS n"
            )
        with psycopg.connect(target_url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE response_session")
        return url
    check_against_service()
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


def measure(url: str, export: str, checkout: Path | None = None) -> dict[str, float]:
    """One export in a fresh process: seconds, and resident memory added (MB). With
    ``checkout``, that checkout's application answers it (its own ``.venv``), measured by
    this file's child, so that two versions are measured alike."""
    command = [sys.executable, "-m", "bench.research_exports", "--child", url, export]
    if checkout is not None:
        command = [str(checkout / ".venv" / "bin" / "python"), __file__, "--child", url, export]
    child = subprocess.run(  # noqa: S603 (our own interpreters and arguments)
        command,
        cwd=checkout or ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SECUREBASE_LOG_LEVEL": "ERROR"},
    )
    if child.returncode != 0:
        raise RuntimeError(f"{export} on {url}: {child.stderr[-2000:]}")
    result: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


PLAIN_AGGREGATE = (
    "SELECT study, count(*), sum({length}(research_answers)) FROM response_session "
    "WHERE questionnaire_id = '{questionnaire}' AND status = 'submitted' "
    "AND research_consent GROUP BY study"
)
"""The floor: one plain SQL aggregate over the same rows and the column the exports read
(the research copy of the answers), grouped as the by-study summary is."""
TARGET_SECONDS = 2.0  # at a million responses
TARGET_RATIO = 3.0  # times the plain aggregate
TARGET_MB = 100.0


def plain_aggregate(url: str) -> float:
    """Seconds of the plain aggregate on ``url``, best of two (the exports' runs are too)."""
    best = float("inf")
    for _ in range(2):
        if url.startswith("sqlite"):
            statement = PLAIN_AGGREGATE.format(length="length", questionnaire=QUESTIONNAIRE)
            connection = sqlite3.connect(url.removeprefix("sqlite:///"))
            started = time.perf_counter()
            connection.execute(statement).fetchall()
            best = min(best, time.perf_counter() - started)
            connection.close()
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            plain = make_url(url).set(drivername="postgresql")
            statement = PLAIN_AGGREGATE.format(length="octet_length", questionnaire=QUESTIONNAIRE)
            with psycopg.connect(plain.render_as_string(hide_password=False)) as connection:
                started = time.perf_counter()
                connection.execute(statement).fetchall()
                best = min(best, time.perf_counter() - started)
    return best


def verdict(size: int, seconds: float, ratio: float, added: float) -> str:
    """The targets, which are set for a million responses: below that, a reference (a
    request's fixed costs, its key check and audit entry, outweigh a small scan)."""
    if size < 1_000_000:
        return "(reference: targets at 1,000,000)"
    missed = []
    if seconds > TARGET_SECONDS:
        missed.append(f"> {TARGET_SECONDS:g} s")
    if ratio > TARGET_RATIO:
        missed.append(f"> {TARGET_RATIO:g}x")
    if added > TARGET_MB:
        missed.append(f"> {TARGET_MB:g} MB")
    return "MISSED " + ", ".join(missed) if missed else "met"


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
        # One refused request on the same route first (no questionnaire named: 422), as a
        # running server has answered before: the route's one-time set-up (FastAPI reads
        # the endpoint's source for its error context, pydantic builds its validators) is
        # not the export's work.
        refused = client.get(
            f"/api/v1/research/{endpoint}", headers={"Authorization": f"Bearer {key}"}
        )
        if refused.status_code != 422:
            raise SystemExit(f"warm-up: {refused.status_code}: {refused.text[:500]}")
        _reset_peak()
        before = _status_mb("VmRSS")
        started = time.perf_counter()
        cpu_started = time.process_time()
        response = client.get(
            f"/api/v1/research/{endpoint}",
            params=params,
            headers={"Authorization": f"Bearer {key}"},
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    peak = _status_mb("VmHWM")
    if response.status_code != 200:
        raise SystemExit(f"{response.status_code}: {response.text[:500]}")
    n = response.json()["n"] if endpoint != "summary" or "format" not in params else None
    print(json.dumps({"seconds": seconds, "cpu": cpu, "added_mb": max(0.0, peak - before), "n": n}))


def compare(url: str, size: int, before: Path, runs: int) -> list[str]:
    """Each export answered by ``before`` (another checkout) and by this one alternately,
    ``runs`` rounds, with the floor measured at the start of every round: the rows of a
    Markdown table (best time, best CPU time, largest memory growth; the floor's best)."""
    floor = float("inf")
    best: dict[tuple[str, str], dict[str, float]] = {}
    for _ in range(runs):
        floor = min(floor, plain_aggregate(url))
        for export in EXPORTS:
            for side, checkout in (("before", before), ("after", None)):
                found = measure(url, export, checkout)
                kept = best.setdefault((export, side), dict(found))
                kept["seconds"] = min(kept["seconds"], found["seconds"])
                kept["cpu"] = min(kept["cpu"], found["cpu"])
                kept["added_mb"] = max(kept["added_mb"], found["added_mb"])
                if found["n"] != kept["n"]:
                    raise RuntimeError(f"{export}: n {found['n']} != {kept['n']}")
    lines = [
        "| export | seconds before (x floor) | seconds after (x floor) | app CPU before "
        "| app CPU after | memory added before / after (MB) | targets (after) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| plain SQL aggregate (floor) | {floor:.2f} | {floor:.2f} | | | | |",
    ]
    for export in EXPORTS:
        old, new = best[(export, "before")], best[(export, "after")]
        if old["n"] != new["n"]:
            raise RuntimeError(f"{export}: n before {old['n']} != after {new['n']}")
        ratio = new["seconds"] / floor
        lines.append(
            f"| {export} | {old['seconds']:.2f} ({old['seconds'] / floor:.1f}x) "
            f"| {new['seconds']:.2f} ({ratio:.1f}x) | {old['cpu']:.2f} | {new['cpu']:.2f} "
            f"| {old['added_mb']:.1f} / {new['added_mb']:.1f} "
            f"| {verdict(size, new['seconds'], ratio, new['added_mb'])} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--quick", action="store_true", help=f"one run per export, into {QUICK_RESULTS.name}"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (with its own .venv) whose exports are measured alternately "
        "with this one's; prints a before/after table per backend and size, writes nothing",
    )
    parser.add_argument("--runs", type=int, default=2, help="rounds of --before (default 2)")
    parser.add_argument("--child", nargs=2, metavar=("URL", "EXPORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    if args.before:
        server = os.environ.get("SECUREBASE_BENCH_POSTGRES_URL") or os.environ.get(
            "SECUREBASE_TEST_POSTGRES_URL"
        )
        for backend in [b for b in args.backends.split(",") if b == "sqlite" or server]:
            for size in (int(s) for s in args.sizes.split(",")):
                url = (
                    build_sqlite(size)
                    if backend == "sqlite"
                    else build_postgres(server or "", size)
                )
                load = os.getloadavg()
                rows = compare(url, size, args.before.resolve(), args.runs)
                print(
                    f"\n{backend}, {size:,} responses, best of {args.runs} (load average "
                    f"before {load[0]:.1f}, after {os.getloadavg()[0]:.1f})\n"
                )
                print("\n".join(rows), flush=True)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    server = os.environ.get("SECUREBASE_BENCH_POSTGRES_URL") or os.environ.get(
        "SECUREBASE_TEST_POSTGRES_URL"
    )
    backends = [b for b in args.backends.split(",") if b == "sqlite" or server]
    lines = [
        "| backend | responses | export | seconds | x plain aggregate | app CPU (s) "
        "| memory added (MB) | targets |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
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
            floor = plain_aggregate(url)
            line = f"| {backend} | {size:,} | plain SQL aggregate (floor) | {floor:.2f} | 1 | | | |"
            lines.append(line)
            print(line, flush=True)
            for export in EXPORTS:
                runs = [measure(url, export) for _ in range(1 if args.quick else 2)]
                seconds = min(r["seconds"] for r in runs)
                cpu = min(r["cpu"] for r in runs)
                added = max(r["added_mb"] for r in runs)
                ratio = seconds / floor if floor > 0 else float("inf")
                line = (
                    f"| {backend} | {size:,} | {export} | {seconds:.2f} | {ratio:.1f} "
                    f"| {cpu:.2f} | {added:.1f} | {verdict(size, seconds, ratio, added)} |"
                )
                lines.append(line)
                print(line, flush=True)
    results = QUICK_RESULTS if args.quick else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    header = io.StringIO()
    header.write("# Research exports benchmark\n\n")
    from bench import machine

    header.write(machine.describe(server if "postgresql" in backends else None))
    header.write(
        f"Each export through the HTTP API in a fresh process, best of {1 if args.quick else 2}; "
        "memory is the growth "
        "of the process's peak resident set during the request; app CPU is the CPU time of the "
        "application's process during the request (on SQLite all the work; on PostgreSQL the "
        "server's share is not in it), which the machine's other load stretches little. "
        "Targets: at a million "
        f"responses <= {TARGET_SECONDS:g} s each, <= {TARGET_RATIO:g}x the plain SQL "
        f"aggregate over the same rows (`PLAIN_AGGREGATE`, best of two) and <= "
        f"{TARGET_MB:g} MB of memory growth.\n\n"
    )
    results.write_text(header.getvalue() + "\n".join(lines) + "\n")
    print(f"\nresults written to {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
