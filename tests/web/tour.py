"""Visiting pages in Chromium and checking each one: its weight, its origin, its accessibility
(axe-core, WCAG 2.2 AA and best practice) and its width, with a screenshot at each width."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page

AXE = Axe()
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
PAGE_BUDGET = 100 * 1024


class Tour:
    """Visits pages and checks each one: weight, origin, accessibility, width, screenshots."""

    def __init__(self, page: Page, shots: Callable[[str], Path]) -> None:
        self.page = page
        self.shots = shots
        self.weights: dict[str, int] = {}
        self.problems: list[str] = []
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def weigh(self) -> int:
        """Bytes transferred for the document and everything it loaded (cache disabled)."""
        sizes: list[int] = self.page.evaluate(
            """() => [
                ...performance.getEntriesByType('navigation'),
                ...performance.getEntriesByType('resource'),
            ].map(entry => entry.transferSize)"""
        )
        assert all(size > 0 for size in sizes), "a resource came from a cache"
        return sum(sizes)

    def check(self, name: str, *, weigh: bool = True) -> None:
        page = self.page
        page.wait_for_load_state("load")
        assert page.get_attribute("html", "lang") == "en", name
        if weigh:
            self.weights[name] = self.weigh()
            if self.weights[name] >= PAGE_BUDGET:
                self.problems.append(f"{name}: {self.weights[name]} bytes")
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 900})
            if width == 360:
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                if overflow > 0:
                    self.problems.append(f"{name}: {overflow}px sideways scroll at 360px")
            page.screenshot(path=str(self.shots(f"{name}-{width}")), full_page=True)
            results = AXE.run(page, options=AXE_OPTIONS)
            for violation in results.response["violations"]:
                if violation["impact"] in {"serious", "critical"}:
                    targets = [node["target"] for node in violation["nodes"]][:3]
                    self.problems.append(f"{name}@{width}: {violation['id']} {targets}")
        page.set_viewport_size({"width": 1280, "height": 900})
