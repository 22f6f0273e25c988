"""``/docs`` and ``/redoc`` over HTTP: served by the instance with their own CSP naming no other
origin, every file they load served here too, and both gone with ``SECUREBASE_API_DOCS=false``.
The vendored files are the ones ``docs_assets/SOURCES.md`` lists, with their licences."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.docs import ASSETS_DIR
from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

PAGES = ["/docs", "/redoc"]
ALLOWED_SOURCES = {"'self'", "'none'", "data:", "blob:", "'unsafe-inline'"}


def http(api_docs: bool) -> Iterator[TestClient]:
    app = create_app(
        Settings(environment="test", database_url="sqlite://", api_docs=api_docs), Catalog.load()
    )
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


@pytest.fixture
def docs_on() -> Iterator[TestClient]:
    yield from http(True)


@pytest.fixture
def docs_off() -> Iterator[TestClient]:
    yield from http(False)


def loaded_files(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/[^"]+)"', html)


@pytest.mark.parametrize("page", PAGES)
def test_page_is_served_with_a_csp_that_names_no_other_origin(
    docs_on: TestClient, page: str
) -> None:
    answer = docs_on.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'", "scripts only from files of this origin"
    assert directives["frame-ancestors"] == "'none'"
    sources = {source for value in directives.values() for source in value.split()}
    assert sources <= ALLOWED_SOURCES, sources - ALLOWED_SOURCES
    assert "<script>" not in answer.text, "no inline script"
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("page", PAGES)
def test_every_file_the_page_loads_is_served_here(docs_on: TestClient, page: str) -> None:
    html = docs_on.get(page).text
    files = loaded_files(html)
    assert any(name.endswith(".js") or ".js?" in name for name in files), files
    for url in files:
        answer = docs_on.get(url)
        assert answer.status_code == 200, url
        kind = answer.headers["content-type"]
        assert ("javascript" in kind) if ".js" in url else ("text/css" in kind), (url, kind)
    assert 'data-openapi-url="/openapi.json"' in html or 'spec-url="/openapi.json"' in html


def test_api_docs_false_turns_both_pages_and_their_files_off(
    docs_off: TestClient, docs_on: TestClient
) -> None:
    files = [url for page in PAGES for url in loaded_files(docs_on.get(page).text)]
    for url in [*PAGES, *files]:
        assert docs_off.get(url, headers={"Accept": "application/json"}).status_code == 404, url
    assert docs_off.get("/openapi.json").status_code == 200, "the document itself stays"


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECUREBASE_API_DOCS", "false")
    assert Settings().api_docs is False
    monkeypatch.delenv("SECUREBASE_API_DOCS")
    assert Settings().api_docs is True


def test_vendored_files_are_the_ones_listed_with_their_licences() -> None:
    sources = (ASSETS_DIR / "SOURCES.md").read_text()
    listed = dict(
        (path, digest) for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", sources, re.M)
    )
    shipped = {
        str(path.relative_to(ASSETS_DIR))
        for path in ASSETS_DIR.rglob("*")
        if path.is_file() and path.parent != ASSETS_DIR
    }
    assert set(listed) == shipped
    for path, digest in listed.items():
        assert hashlib.sha256((ASSETS_DIR / path).read_bytes()).hexdigest() == digest, path
    assert {"swagger_ui/LICENSE", "swagger_ui/NOTICE", "redoc/LICENSE"} <= shipped
