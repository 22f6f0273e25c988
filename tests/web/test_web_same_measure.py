"""The web client across the bundled questionnaire's rewording (1.0.0 -> 1.0.1): a result
given under 1.0.0 is shown afterwards exactly as before, and answers saved under 1.0.0 but not
yet submitted are finished under 1.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from releases import FIRST_RELEASE_HASH, first_release_catalog
from webflow import ATTACHMENT_ITEMS, answer_all, api_read, page_text, post_page, radio_names, start

from app.config import Settings
from app.main import create_app
from app.web.security import SESSION_COOKIE
from scoring.catalog import Catalog

ANSWERS = {item: 6 if item.startswith("anx") else 3 for item in ATTACHMENT_ITEMS}


@contextmanager
def browsing(settings: Settings, catalog: Catalog, cookies: dict[str, str]) -> Iterator[TestClient]:
    """The web pages of an app serving ``catalog``, in a browser holding ``cookies``."""
    app = create_app(settings, catalog)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
        for name, value in cookies.items():
            web.cookies.set(name, value)
        yield web
        cookies.update(dict(web.cookies.items()))
    app.state.engine.dispose()


def visible(html: str) -> str:
    """The text a person reads on a page."""
    return " ".join(page_text(html).text)


def test_a_result_given_under_the_first_release_is_shown_as_it_was(
    settings: Settings, catalog: Catalog, tmp_path: Path
) -> None:
    cookies: dict[str, str] = {}
    with browsing(settings, first_release_catalog(tmp_path), cookies) as before:
        token = start(before)
        assert answer_all(before, token, ANSWERS).headers["location"] == "/results"
        shown_before = before.get("/results")
        stored_before = api_read(before).json()
    assert shown_before.status_code == 200
    assert stored_before["result"]["questionnaire"]["hash"] == FIRST_RELEASE_HASH

    with browsing(settings, catalog, cookies) as after:
        shown_after = after.get("/results")
        stored_after = api_read(after).json()
    assert shown_after.status_code == 200
    assert visible(shown_after.text) == visible(shown_before.text)
    assert stored_after["result"] == stored_before["result"]


def test_answers_saved_under_the_first_release_are_finished_after_the_rewording(
    settings: Settings, catalog: Catalog, tmp_path: Path
) -> None:
    cookies: dict[str, str] = {}
    with browsing(settings, first_release_catalog(tmp_path), cookies) as before:
        token = start(before)
        first_page = radio_names(before.get("/questionnaire/1").text)
        assert post_page(before, 1, token, {i: ANSWERS[i] for i in first_page}).status_code == 303
    assert SESSION_COOKIE in cookies

    with browsing(settings, catalog, cookies) as after:
        assert answer_all(after, token, ANSWERS).headers["location"] == "/results"
        assert after.get("/results").status_code == 200
        stored = api_read(after).json()
    assert stored["status"] == "submitted"
    assert stored["answers"] == ANSWERS
    assert (
        stored["result"]["questionnaire"]["hash"]
        == catalog.definitions["attachment-self-reflection"].content_hash
    )
