"""HTTP benchmarks under load from wrk, a separate process on loopback.

- **floor**: the barest async FastAPI GET (``bench/floor_app.py``), one uvicorn worker.
- **exchange**: a reference, the submission's bytes on the floor's stack without its work
  (``bench/exchange_app.py``): the same request body read and parsed, a real answer's bytes
  sent back.
- **submit**: ``POST /api/v1/responses`` with a complete answer set and ``"submit": true``
  (validate, screen, score, store, return the full result), no Idempotency-Key; one worker
  on SQLite, and one and two workers on PostgreSQL when a server is named.
- **exports**: submissions' p99 on a database that already holds responses, without and
  then with research summary exports running back to back.
- **start-up**: process start to the first ``/readyz`` 200.

Every run is bounded by wrk's ``-d`` and by timeouts on every server start.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUESTIONNAIRE = "attachment-self-reflection"
CONNECTIONS = 32
START_TIMEOUT = 60.0
WRK_INSTALL = "wrk is not installed: on Debian or Ubuntu run `sudo apt-get install wrk`."

_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class Load:
    """What wrk measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_missing() -> str | None:
    return None if shutil.which("wrk") else WRK_INSTALL


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers() -> dict[str, int]:
    """A complete answer set of the bundled questionnaire, wellbeing check included."""
    from scoring.catalog import Catalog

    definition = Catalog.load().definitions[QUESTIONNAIRE].definition
    chosen = {item.id: 1 + (index * 5) % 7 for index, item in enumerate(definition.items)}
    chosen.update({item.id: 0 for item in definition.wellbeing_items})
    return chosen


def submit_body() -> str:
    """The body every submit request sends."""
    return json.dumps(
        {
            "questionnaire_id": QUESTIONNAIRE,
            "answers": answers(),
            "submit": True,
            "consent": {"research": True},
        }
    )


def submit_script(directory: Path) -> Path:
    body = submit_body()
    script = directory / "submit.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [[{body}]]\n" + _REPORT
    )
    return script


def report_script(directory: Path) -> Path:
    script = directory / "get.lua"
    script.write_text(_REPORT)
    return script


def run_wrk(url: str, script: Path, seconds: float) -> Load:
    wrk = shutil.which("wrk")
    assert wrk is not None, WRK_INSTALL
    threads = max(1, min(2, os.cpu_count() or 1))
    finished = subprocess.run(  # noqa: S603 (wrk with our own arguments)
        [
            wrk,
            f"-t{threads}",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {finished.stdout[-1000:]} {finished.stderr[-1000:]}")
    found = json.loads(lines[-1])
    errors = sum(found[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Load(
        requests=found["requests"],
        seconds=found["duration_us"] / 1e6,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        errors=errors,
    )


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Started(NamedTuple):
    """A server that answered its ready path: its address, the seconds from its start until
    then, and the CPU seconds its process used meanwhile (which a busy machine stretches
    less than the seconds on the clock)."""

    base: str
    seconds: float
    cpu_seconds: float
    pid: int


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) process ``pid`` has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it that is alive now (Linux)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += _process_tree(int(child))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by ``pid`` and its live descendants (a server's workers)."""
    total = 0.0
    for member in _process_tree(pid):
        try:
            total += cpu_seconds(member)
        except OSError:  # ended meanwhile
            continue
    return total


def run_wrk_with_cpu(
    started: Started, path: str, script: Path, seconds: float
) -> tuple[Load, float]:
    """:func:`run_wrk` against a started server, with the server's CPU milliseconds per
    request answered (its workers included): the figure a busy machine stretches least."""
    before = tree_cpu_seconds(started.pid)
    load = run_wrk(started.base + path, script, seconds)
    used = tree_cpu_seconds(started.pid) - before
    return load, used * 1000 / max(1, load.requests)


@contextmanager
def server(command: list[str], env: dict[str, str], ready_path: str) -> Iterator[Started]:
    """Start a server; yields it once ``ready_path`` answers 200."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below)
        prefix="securebase-bench-server-", suffix=".log", delete=False
    )
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [*command, "--port", str(port)],
        cwd=ROOT,
        env={
            **os.environ,
            "SECUREBASE_LOG_LEVEL": "WARNING",
            # A port of its own: another instance on the machine may hold the default one.
            "SECUREBASE_METRICS_ADDRESS": f"127.0.0.1:{free_port()}",
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        while not _ready(base + ready_path):
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {Path(log.name).read_text()[-2000:]}")
            if time.perf_counter() - started > START_TIMEOUT:
                raise RuntimeError(f"server not ready within {START_TIMEOUT:.0f} s")
            time.sleep(0.01)
        yield Started(base, time.perf_counter() - started, cpu_seconds(process.pid), process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        errors = [line for line in Path(log.name).read_text().splitlines() if "Error" in line]
        if errors:
            print(f"server log {log.name}: {len(errors)} error line(s)", file=sys.stderr)
        else:
            Path(log.name).unlink()


def floor_server(app: str = "bench.floor_app:app") -> list[str]:
    """The floor's uvicorn command line (or another bench app's, served the same way)."""
    return [
        str(BIN / "python"),
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--workers",
        "1",
        "--no-access-log",
        "--no-server-header",
    ]


def exchange_server() -> list[str]:
    return floor_server("bench.exchange_app:app")


_OWN_HEADERS = {"connection", "content-length", "date", "server"}


def record_reply(base: str, path: Path) -> Path:
    """Send one submission to the server at ``base`` and keep its answer in ``path``, as
    JSON: its body and headers (but those uvicorn writes itself, and ``Connection``, which
    belongs to this one exchange: replayed as ``close`` it would end every connection),
    what the exchange reference sends back."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        base + "/api/v1/responses",
        data=submit_body().encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
        if answer.status != 201:
            raise RuntimeError(f"recording a reply: status {answer.status}")
        headers = [
            [name, value]
            for name, value in answer.headers.items()
            if name.lower() not in _OWN_HEADERS
        ]
        path.write_text(json.dumps({"headers": headers, "body": answer.read().decode()}))
    return path


def securebase_server(workers: int) -> list[str]:
    return [str(BIN / "securebase"), "serve", "--host", "127.0.0.1", "--workers", str(workers)]


def researcher_key(env: dict[str, str]) -> str:
    made = subprocess.run(  # noqa: S603
        [str(BIN / "securebase"), "researchers", "add", "bench"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


class ExportLoop:
    """Research summary exports, back to back, in a thread of this (the load) process."""

    def __init__(self, base: str, key: str) -> None:
        self.url = f"{base}/api/v1/research/summary?questionnaire_id={QUESTIONNAIRE}"
        self.key = key
        self.done = 0
        self.failed = 0
        self.last_error = ""
        self.errors: list[str] = []
        self.seconds: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            request = urllib.request.Request(  # noqa: S310 (loopback)
                self.url, headers={"Authorization": f"Bearer {self.key}"}
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                    answer.read()
                    ok = answer.status == 200
            except urllib.error.HTTPError as exc:
                ok = False
                self.last_error = f"{exc.code}: {exc.read()[:300]!r}"
                self.errors.append(self.last_error)
            except (urllib.error.URLError, OSError) as exc:
                ok = False
                self.last_error = str(exc)
            self.seconds.append(time.perf_counter() - started)
            if ok:
                self.done += 1
            else:
                self.failed += 1

    def __enter__(self) -> ExportLoop:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)


def temporary_directory() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="securebase-bench-")
