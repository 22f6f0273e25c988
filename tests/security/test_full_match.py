"""Every pattern that validates input matches the whole value: ``$`` alone also matches
before a trailing newline, which once let ``?study=s1%0A`` through to a 500 on Start."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.errors import InvalidInput
from app.services.research.access import create_key
from app.web.security import CSRF_FIELD

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def web(client: TestClient) -> TestClient:
    client.base_url = client.base_url.copy_with(scheme="https")
    client.follow_redirects = False
    return client


def _csrf(html: str) -> str:
    match = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_a_study_code_with_a_trailing_newline_is_not_echoed_and_start_still_works(
    web: TestClient,
) -> None:
    landing = web.get("/?study=s1%0A")
    assert landing.status_code == 200
    assert 'name="study" value="s1\n"' not in landing.text

    started = web.post("/start", data={CSRF_FIELD: _csrf(landing.text), "study": "s1\n"})

    assert started.status_code == 303, started.text
    assert started.headers["location"] == "/questionnaire/1"


def test_a_trailing_newline_in_the_attempt_key_does_not_break_start(web: TestClient) -> None:
    landing = web.get("/")
    started = web.post("/start", data={CSRF_FIELD: _csrf(landing.text), "attempt": "a" * 20 + "\n"})
    assert started.status_code == 303, started.text


def test_a_research_key_cannot_be_scoped_to_a_study_code_with_a_newline(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session, pytest.raises(InvalidInput) as refused:
        create_key(session, "Someone", ["s1\n"], dt.datetime.now(dt.UTC))
    assert [p.item for p in refused.value.problems] == ["study"]


def test_no_pattern_in_the_application_validates_with_a_prefix_match() -> None:
    """``re.match``/``.match(`` with a ``$``-anchored pattern is the bug; the application
    validates with ``fullmatch`` (or ``\\Z``)."""
    offenders = []
    for path in APP.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\b(re|_[A-Z]+|[A-Z_]+)\.match\(", line):
                offenders.append(f"{path.relative_to(APP.parent)}:{number}: {line.strip()}")
    assert offenders == []
