"""A real server with several workers, on each backend, under concurrent clients.

Bounded: a few hundred requests from 64 client threads to 127.0.0.1 only, each request with a
timeout, every server process killed at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text

ITEMS = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]
SECUREBASE = Path(sys.executable).parent / "securebase"
CLIENTS = 64
CALLS_PER_CLIENT = 5
TRANSPORT_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def running_server(
    database_url: str, workers: int, tmp_path: Path, metrics_port: int | None = None
) -> Iterator[str]:
    """A server on a free port; its metrics on 127.0.0.1:``metrics_port`` (None: off)."""
    port = free_port()
    metrics_dir = tmp_path / f"metrics-{port}"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "SECUREBASE_DATABASE_URL": database_url,
        "SECUREBASE_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "SECUREBASE_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}" if metrics_port else "off",
    }
    log = (tmp_path / f"server-{port}.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [str(SECUREBASE), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / f"server-{port}.log").read_text()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        kill(server)
        log.close()


def kill(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group: the supervisor and every worker."""
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


def create_body(value: int) -> dict[str, Any]:
    return {
        "questionnaire_id": "attachment-self-reflection",
        "answers": dict.fromkeys(ITEMS, value),
        "submit": True,
    }


def post_like_a_careful_client(
    http: httpx.Client, body: dict[str, Any], key: dict[str, str]
) -> httpx.Response:
    """POST, and on a dropped connection send the same request again with the same key.

    A connection can drop without the server being at fault (a worker replaced, a proxy
    restarting); the Idempotency-Key is what makes sending again safe, and the assertions on
    what is stored prove that it is.
    """
    for _attempt in range(TRANSPORT_ATTEMPTS - 1):
        try:
            return http.post("/api/v1/responses", json=body, headers=key)
        except httpx.TransportError:
            time.sleep(0.5)
    return http.post("/api/v1/responses", json=body, headers=key)


def server_logs(tmp_path: Path) -> str:
    return "\n".join(log.read_text() for log in sorted(tmp_path.rglob("server-*.log")))


def failure_report(failures: list[str], tmp_path: Path) -> str:
    """What failed, with the servers' error lines last, where a shortened log still shows them."""
    errors = Counter(
        line.strip() for line in server_logs(tmp_path).splitlines() if "error" in line.lower()
    )
    listed = "\n".join(f"{count} x {line}" for line, count in errors.most_common(10))
    return f"{len(failures)} failed calls, the first: {failures[0]}\nserver errors:\n{listed}"


def stored_responses(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM response_session")).scalar_one()
    engine.dispose()
    return int(count)


def test_many_clients_two_workers_no_errors_and_nothing_stored_twice(
    database_url: str, tmp_path: Path
) -> None:
    acknowledged: list[dict[str, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client_session(index: int, base: str) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for call in range(CALLS_PER_CLIENT):
                key = {"Idempotency-Key": str(uuid.uuid4())}
                body = create_body(1 + (index + call) % 7)
                first = post_like_a_careful_client(http, body, key)
                retry = post_like_a_careful_client(http, body, key)
                with lock:
                    if first.status_code != 201 or retry.status_code != 201:
                        failures.append(f"{first.status_code} {retry.status_code} {first.text}")
                    elif retry.json() != first.json():
                        failures.append("a retry with the same key answered differently")
                    else:
                        acknowledged.append(first.json())

    metrics_port = free_port()
    with running_server(database_url, 2, tmp_path, metrics_port) as base:
        with ThreadPoolExecutor(CLIENTS) as pool:
            for future in [pool.submit(client_session, i, base) for i in range(CLIENTS)]:
                future.result()
        if failures:
            pytest.fail(failure_report(failures, tmp_path), pytrace=False)
        assert len(acknowledged) == CLIENTS * CALLS_PER_CLIENT
        assert len({r["response_id"] for r in acknowledged}) == len(acknowledged)
        assert stored_responses(database_url) == len(acknowledged)
        with httpx.Client(base_url=base, timeout=30) as http:
            for created in acknowledged:
                read = http.get(
                    f"/api/v1/responses/{created['response_id']}",
                    headers={"Authorization": f"Bearer {created['token']}"},
                )
                assert read.status_code == 200
                assert read.json()["result"] == {**created["result"], "crisis": None}
            assert http.get("/metrics").status_code == 404  # not on the public port
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        submissions = next(
            line for line in metrics.splitlines() if line.startswith("securebase_submissions_total")
        )
        # Summed over both workers by the supervisor, which serves the metrics port.
        assert float(submissions.split()[-1]) == len(acknowledged)


def test_every_acknowledged_submission_survives_kill_9(database_url: str, tmp_path: Path) -> None:
    acknowledged: list[dict[str, Any]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def submit_until_stopped(base: str) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            while not stop.is_set():
                try:
                    reply = http.post("/api/v1/responses", json=create_body(5))
                except httpx.TransportError:
                    return  # the server died mid-request: not acknowledged
                if reply.status_code == 201:
                    with lock:
                        acknowledged.append(reply.json())

    port_dir = tmp_path / "first"
    port_dir.mkdir()
    with running_server(database_url, 2, port_dir) as base:
        threads = [threading.Thread(target=submit_until_stopped, args=(base,)) for _ in range(16)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Leaving the block kills every server process with SIGKILL while requests are in flight.
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) >= 50

    restart_dir = tmp_path / "second"
    restart_dir.mkdir()
    with running_server(database_url, 1, restart_dir) as base, httpx.Client(base_url=base) as http:
        for created in acknowledged:
            read = http.get(
                f"/api/v1/responses/{created['response_id']}",
                headers={"Authorization": f"Bearer {created['token']}"},
            )
            assert read.status_code == 200
            assert read.json()["status"] == "submitted"
