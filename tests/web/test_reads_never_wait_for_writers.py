"""Reading a page never waits for someone writing.

A respondent opening the results, a questionnaire page or the help page only reads. On SQLite
a transaction that may write takes the database's write lock when it begins; if a read took
it too, everyone looking at a page would queue behind every submission (and hold them up in
turn), and a long write elsewhere would stall the help page. These checks hold SQLite's write
lock from another connection and ask for each page: it must answer at once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.engine import make_url

from app.config import Settings
from tests.web.webflow import WELLBEING_ITEMS, answer_all, notice_first, session_cookie, start

ANSWERS = {f"{prefix}{n:02d}": 1 + n % 7 for prefix in ("anx", "avo", "dis") for n in range(1, 10)}
RISKY = ANSWERS | dict.fromkeys(WELLBEING_ITEMS, 0) | {"wb_life": 2}
PATIENCE_SECONDS = 5.0  # far below SQLite's busy timeout (15 s), far above a page's time


def _while_locked(settings: Settings, ask: Callable[[], Response]) -> Response | None:
    """``ask``'s answer while another connection holds the write lock; None when it did not
    answer within PATIENCE_SECONDS (it was waiting for the lock)."""
    path = make_url(settings.database_url).database
    assert path is not None
    answers: list[Response] = []
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    asking = threading.Thread(target=lambda: answers.append(ask()))
    try:
        asking.start()
        asking.join(PATIENCE_SECONDS)
        answered_in_time = not asking.is_alive()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        asking.join()
    return answers[0] if answered_in_time else None


@pytest.fixture
def finished(web: TestClient, settings: Settings) -> TestClient:
    if not settings.is_sqlite:
        pytest.skip("SQLite's database-wide write lock")
    token = start(web)
    answer_all(web, token, RISKY)
    return web


@pytest.mark.parametrize(
    "path",
    ["/", "/results", "/questionnaire/1", "/help", "/delete", "/resume"],
)
def test_a_page_answers_while_a_writer_holds_the_lock(
    finished: TestClient, settings: Settings, path: str
) -> None:
    page = _while_locked(settings, lambda: finished.get(path))
    assert page is not None, f"GET {path} waited for the write lock"
    assert page.status_code in (200, 303), page.text
    if path == "/results":  # read in a snapshot, the notice kept
        assert notice_first(page.text), f"GET {path} lost the crisis notice"


def test_a_stored_response_read_as_fhir_answers_while_a_writer_holds_the_lock(
    finished: TestClient, settings: Settings
) -> None:
    response_id, token = session_cookie(finished)
    read = _while_locked(
        settings,
        lambda: finished.get(
            f"/api/v1/responses/{response_id}/fhir",
            headers={"Authorization": f"Bearer {token}"},
        ),
    )
    assert read is not None, "the FHIR read waited for the write lock"
    assert read.status_code == 200, read.text
    assert read.json()["resourceType"] == "QuestionnaireResponse"
