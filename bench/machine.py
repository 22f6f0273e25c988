"""What the benchmarks ran on, for the head of every results file."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import sqlite3
import subprocess
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return "unknown"


def postgres_version(url: str | None) -> str | None:
    if not url:
        return None
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else None


def wrk_version() -> str | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    shown = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    return (shown.stdout or shown.stderr).splitlines()[0].split(" Copyright")[0]


def describe(postgres_url: str | None) -> str:
    """A Markdown paragraph naming the machine, the versions and how busy it was."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    parts = [
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `make bench` on "
        f"{os.cpu_count()} CPUs ({_cpu_model()}), {_memory_gb()} memory, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}",
    ]
    pg = postgres_version(postgres_url)
    if pg:
        parts.append(f"PostgreSQL {pg}")
    wrk = wrk_version()
    if wrk:
        parts.append(wrk)
    return ", ".join(parts) + f". Load average at the start: {load}.\n"
