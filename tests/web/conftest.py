"""Fixtures for the web client: an HTTPS test client, a real server and real Chromium.

The browser is Debian's ``chromium`` driven by Playwright. Without it the browser tests are
skipped on a developer machine, but with ``CI=true`` its absence fails them: a green CI run
always means the pages were exercised in a real browser.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from webflow import Contexts

from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def web(settings: Settings, catalog: Catalog) -> Iterator[TestClient]:
    """The app in-process over https (Secure cookies are only sent back over https)."""
    app = create_app(settings, catalog)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as http:
        yield http
    app.state.engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def live_server(settings: Settings, catalog: Catalog) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 and a free port, on the test's database."""
    app = create_app(settings.model_copy(update={"log_level": "WARNING"}), catalog)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the test server stopped while starting"
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.state.engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(f"CI=true but {message}: browser tests must run in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def contexts(chromium: Any, live_server: str) -> Iterator[Contexts]:
    opened = Contexts(chromium, live_server)
    try:
        yield opened
    finally:
        opened.close()
    assert opened.foreign_requests() == [], "a request left the origin"


@pytest.fixture(scope="session")
def screenshot_dir() -> Callable[[str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def path(name: str) -> Path:
        return SCREENSHOTS / f"{name}.png"

    return path
