"""A real instance for the documentation tests: ``securebase serve`` in a subprocess on a free
loopback port, with its own SQLite file, as an integrator would run it.

One instance per test module (starting one migrates a database, which takes seconds); each
test makes its own responses, so they do not depend on each other. The server is killed with
its whole process group at the end, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

VENV_BIN = Path(sys.executable).parent
SECUREBASE = VENV_BIN / "securebase"
REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class Instance:
    base_url: str
    env: dict[str, str]
    log: Path

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v1"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def researcher_key(self, name: str) -> str:
        """A new researcher key, made the way the README says: ``securebase researchers add``."""
        made = subprocess.run(  # noqa: S603 - our own command, fixed arguments
            [str(SECUREBASE), "researchers", "add", name],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return made.stdout.strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def require_tool(name: str) -> str:
    """The path of a command-line tool the README uses; skipped without it, failed in CI."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    home = tmp_path_factory.mktemp("instance")
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SECUREBASE_DATABASE_URL": f"sqlite:///{home / 'securebase.db'}",
        "SECUREBASE_LOG_LEVEL": "WARNING",
        "SECUREBASE_ENVIRONMENT": "test",
    }
    for inherited in ("SECUREBASE_PUBLIC_URL", "SECUREBASE_API_DOCS", "SECUREBASE_DEFAULT_COUNTRY"):
        env.pop(inherited, None)
    log = home / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [str(SECUREBASE), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = Instance(f"http://127.0.0.1:{port}", env, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx2.TransportError):
                if httpx2.get(f"{started.base_url}/readyz", timeout=2).status_code == 200:
                    break
            assert server.poll() is None, started.logs()
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield started
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
