"""The instrument of questionnaires/README.md's annotated example, as a user would copy it."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from scoring.catalog import BUNDLED_DIR

README = BUNDLED_DIR / "README.md"

AppFactory = Callable[..., TestClient]


def readme_example() -> str:
    """The complete annotated example of questionnaires/README.md, verbatim."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"## A complete, annotated example.*?```yaml\n(.*?)```", text, re.S)
    assert match is not None, "the README has no annotated YAML example"
    return match.group(1)
