"""``/docs`` and ``/redoc`` render in real Chromium, from this origin alone, under their CSP.

Each page is opened on a real server; the test waits until the operations are drawn, and then
requires: no request to another origin, no Content-Security-Policy violation (listened for
with a ``securitypolicyviolation`` listener installed before any page script runs, and in the
console, where Chromium also reports them), and no script error. Without Chromium the test is
skipped, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docs_support import Instance

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
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "(inline)"}`
  );
});
"""


@pytest.fixture(scope="module")
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


class Visit:
    """One page in a fresh browser context, with everything it asked for and complained of."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base_url = base_url
        self.requests: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}
        )
        self.context.set_default_timeout(30_000)
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page = self.context.new_page()
        self.page.add_init_script(RECORD_VIOLATIONS)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: Any) -> None:
        if message.type in {"error", "warning"}:
            self.console.append(f"{message.type}: {message.text}")

    def foreign_requests(self) -> list[str]:
        own = (f"{self.base_url}/", f"blob:{self.base_url}/", "data:")
        return [url for url in self.requests if not url.startswith(own)]

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__cspViolations")
        reported = [line for line in self.console if "Content Security Policy" in line]
        return found + reported


@pytest.fixture
def visit(chromium: Any, instance: Instance) -> Iterator[Visit]:
    opened = Visit(chromium, instance.base_url)
    try:
        yield opened
    finally:
        opened.context.close()


def check_clean(visit: Visit, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    assert visit.foreign_requests() == [], "a request left the origin"
    assert visit.violations() == [], "the page broke its Content-Security-Policy"
    assert visit.errors == [], "a script failed"
    assert [line for line in visit.console if line.startswith("error")] == [], visit.requests


def test_swagger_ui_renders_every_operation_from_this_origin(visit: Visit) -> None:
    answer = visit.page.goto("/docs")
    assert answer is not None
    assert answer.status == 200
    visit.page.wait_for_selector(".opblock-summary", state="visible")
    # Every operation of the document is drawn, by its operation id.
    visit.page.wait_for_function("document.querySelectorAll('.opblock').length >= 16")
    ids = visit.page.locator(".opblock-summary-operation-id").all_inner_texts()
    assert {"createResponse", "saveAnswers", "getResearchSummary"} <= set(ids)
    assert "Secure Base" in visit.page.locator(".information-container .title").inner_text()
    # Opening an operation shows its request example (the risk one among them).
    visit.page.locator("#operations-responses-saveAnswers .opblock-summary").click()
    visit.page.wait_for_selector("#operations-responses-saveAnswers .body-param__example")
    check_clean(visit, "api-docs-swagger")


def test_redoc_renders_the_reference_from_this_origin(visit: Visit) -> None:
    answer = visit.page.goto("/redoc")
    assert answer is not None
    assert answer.status == 200
    visit.page.wait_for_selector("[data-section-id='tag/responses']", state="attached")
    visit.page.wait_for_selector("h1:has-text('Secure Base')")
    assert visit.page.locator("[data-section-id*='operation/saveAnswers']").count() >= 1
    assert visit.page.locator("[data-section-id*='operation/getResearchSummary']").count() >= 1
    # ReDoc's search runs in its worker: typing a query must find an operation.
    visit.page.locator("input[placeholder='Search...']").fill("submit")
    visit.page.wait_for_selector("[data-role='search:results'] li", state="attached")
    check_clean(visit, "api-docs-redoc")
