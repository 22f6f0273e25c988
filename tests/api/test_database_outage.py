"""A database outage, as clients see it: a clear 503 that says to retry, never a 500.

The database goes away after the service has started, on each backend:

- SQLite: the database file is moved aside and a directory takes its place, so no new
  connection can open it (the pooled ones are closed, as they would be after an error);
- PostgreSQL: a throwaway database of its own stops accepting connections and the open ones
  are terminated (the shared server's other databases are never touched);
- and, for the group writer, SQLite's write lock is held by another connection past the busy
  timeout, so reads still work and only the commit fails.

Whatever was refused, the crisis notice its answers call for goes with the 503 (as JSON for the
API and the web client's script, as the page for a browser), nothing is half-stored, and once
the database is back the same request succeeds.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from backends import empty_every_table, own_postgres_database, require_postgres
from fastapi.testclient import TestClient
from helpers import (
    API,
    QUESTIONNAIRE,
    bearer,
    complete_answers,
    create,
    notices_counted,
    row_counts,
)
from httpx2 import Response
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app import db
from app.config import Settings
from app.main import create_app
from app.repositories import research_data
from app.services.research.access import create_key
from app.web.security import CSRF_FIELD
from scoring.catalog import Catalog

PROBLEM_JSON = "application/problem+json"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# Words that would tell a client how the service is built, or where its data lives.
INTERNALS = (
    "sqlite",
    "postgres",
    "psycopg",
    "sqlalchemy",
    "[sql",
    "securebase.db",
    "_outage_",
    "unable to open",
    "accepting connections",
    "locked",
    "127.0.0.1",
)


@dataclass
class Outage:
    """A migrated database that can be taken away from a running app and given back."""

    url: str
    begin: Callable[[Engine], None]
    end: Callable[[], None]


def _sqlite_outage(path: Path) -> Outage:
    aside = path.with_name("aside")

    def begin(engine: Engine) -> None:
        engine.dispose()  # the open connections go, as after an error; new ones cannot open
        aside.mkdir()
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
            if (path.parent / name).exists():
                (path.parent / name).rename(aside / name)
        path.mkdir()

    def end() -> None:
        path.rmdir()
        for moved in aside.iterdir():
            moved.rename(path.parent / moved.name)
        aside.rmdir()

    return Outage(f"sqlite:///{path}", begin, end)


@pytest.fixture(scope="module")
def throwaway_postgres() -> Iterator[str]:
    """A database of this module's own on the test server, so that refusing its connections
    never disturbs anyone else's."""
    with own_postgres_database("outage", migrated=True) as url:
        yield url


def _postgres_outage(url: str) -> Outage:
    server = make_url(require_postgres())
    name = make_url(url).database

    def admin(*statements: str) -> None:
        engine = create_engine(server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement), {"name": name})
        finally:
            engine.dispose()

    def begin(_engine: Engine) -> None:
        admin(
            f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name",
        )

    def end() -> None:
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    return Outage(url, begin, end)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    if request.param == "sqlite":
        path = tmp_path / "data" / "securebase.db"
        path.parent.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield _sqlite_outage(path)
        return
    url: str = request.getfixturevalue("throwaway_postgres")
    yield _postgres_outage(url)

    empty_every_table(url)


@pytest.fixture
def app_on(outage: Outage, catalog: Catalog) -> Iterator[Any]:
    app = create_app(
        Settings(environment="test", database_url=outage.url, default_country=None), catalog
    )
    yield app
    app.state.engine.dispose()


def risky_answers() -> dict[str, int]:
    """A complete set with thoughts of ending one's life right now: the acute level."""
    return {**complete_answers(), "wb_now": 1}


def assert_unavailable(reply: Response) -> dict[str, Any]:
    """A 503 problem document that says to come back later and gives nothing away."""
    assert reply.status_code == 503, reply.text
    assert reply.headers["content-type"].split(";")[0] == PROBLEM_JSON
    assert reply.headers["retry-after"].isdigit()
    assert reply.headers["cache-control"] == "no-store"
    body: dict[str, Any] = reply.json()
    assert body["status"] == 503
    assert body["type"] == "/problems/database-unavailable"
    assert "try again" in body["detail"].lower()
    shown = reply.text.lower()
    for word in INTERNALS:
        assert word not in shown, f"the answer mentions {word!r}"
    return body


def test_a_risky_submission_in_an_outage_is_503_with_the_notice_and_stores_nothing(
    outage: Outage, app_on: Any
) -> None:
    body = {"questionnaire_id": QUESTIONNAIRE, "answers": risky_answers(), "submit": True}
    with TestClient(app_on) as client:
        outage.begin(app_on.state.engine)
        counted_before = notices_counted()
        try:
            refused = client.post(f"{API}/responses", json=body)
        finally:
            outage.end()
        problem = assert_unavailable(refused)
        assert problem["crisis"]["level"] == "acute"
        assert problem["crisis"]["resources"]
        assert notices_counted() - counted_before == 1  # the operators see it, once

        assert row_counts(outage.url) == {"response_session": 0, "idempotency_record": 0}
        stored = client.post(f"{API}/responses", json=body)
        assert stored.status_code == 201, stored.text
        assert stored.json()["crisis"]["level"] == "acute"


def test_a_postgresql_server_that_is_not_there_is_503_with_the_notice(catalog: Catalog) -> None:
    # Nothing listens on port 1: every connection is refused at once.
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app = create_app(Settings(environment="test", database_url=unreachable), catalog)
    body = {"questionnaire_id": QUESTIONNAIRE, "answers": risky_answers(), "submit": True}
    try:
        with TestClient(app) as client:
            counted_before = notices_counted()
            refused = client.post(f"{API}/responses", json=body)
            counted = notices_counted() - counted_before
            read = client.get(f"{API}/responses/some-id", headers=bearer("some-token"))
    finally:
        app.state.engine.dispose()
    assert assert_unavailable(refused)["crisis"]["level"] == "acute"
    assert counted == 1
    assert_unavailable(read)


def test_reading_a_response_in_an_outage_is_503(outage: Outage, app_on: Any) -> None:
    with TestClient(app_on) as client:
        created = create(client, answers={"anx01": 5})
        address = f"{API}/responses/{created['response_id']}"
        outage.begin(app_on.state.engine)
        try:
            refused = client.get(address, headers=bearer(created["token"]))
        finally:
            outage.end()
        assert_unavailable(refused)
        assert created["response_id"] not in refused.text

        again = client.get(address, headers=bearer(created["token"]))
        assert again.status_code == 200, again.text
        assert again.json()["answers"] == {"anx01": 5}


def test_reading_a_response_as_fhir_in_an_outage_is_a_transient_operation_outcome(
    outage: Outage, app_on: Any
) -> None:
    with TestClient(app_on) as client:
        created = create(client, answers={"anx01": 5})
        address = f"{API}/responses/{created['response_id']}/fhir"
        outage.begin(app_on.state.engine)
        try:
            refused = client.get(address, headers=bearer(created["token"]))
        finally:
            outage.end()
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/fhir+json")
        assert refused.headers["retry-after"].isdigit()
        outcome = refused.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert [issue["code"] for issue in outcome["issue"]] == ["transient"]
        for word in INTERNALS:
            assert word not in refused.text.lower(), f"the answer mentions {word!r}"
        assert client.get(address, headers=bearer(created["token"])).status_code == 200


def _fhir_answers(client: TestClient, answers: dict[str, int]) -> dict[str, Any]:
    """A QuestionnaireResponse to the questionnaire as its FHIR form offers it: each answer
    the option whose ordinal weight it is."""
    form = client.get(f"{API}/questionnaires/{QUESTIONNAIRE}/fhir").json()

    def answered(item: dict[str, Any]) -> dict[str, Any] | None:
        if item["type"] == "group":
            children = [found for child in item["item"] if (found := answered(child))]
            return {"linkId": item["linkId"], "item": children} if children else None
        if item["linkId"] not in answers:
            return None
        weight = answers[item["linkId"]]
        (option,) = [o for o in item["answerOption"] if o["extension"][0]["valueDecimal"] == weight]
        return {"linkId": item["linkId"], "answer": [{"valueCoding": option["valueCoding"]}]}

    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{form['url']}|{form['version']}",
        "status": "completed",
        "item": [found for item in form["item"] if (found := answered(item))],
    }


def test_storing_risky_fhir_answers_in_an_outage_is_503_with_the_notice_counted_once(
    outage: Outage, app_on: Any
) -> None:
    with TestClient(app_on) as client:
        resource = _fhir_answers(client, risky_answers())
        outage.begin(app_on.state.engine)
        counted_before = notices_counted()
        try:
            refused = client.post(
                f"{API}/fhir/QuestionnaireResponse", json=resource, params={"store": "true"}
            )
        finally:
            outage.end()
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/fhir+json")
        assert refused.headers["retry-after"].isdigit()
        issues = refused.json()["issue"]
        assert "transient" in [issue["code"] for issue in issues]
        assert any(issue["severity"] == "warning" for issue in issues), "no crisis notice"
        assert notices_counted() - counted_before == 1
        assert row_counts(outage.url)["response_session"] == 0


def test_risky_answers_to_a_stored_response_in_an_outage_keep_the_notice(
    outage: Outage, app_on: Any
) -> None:
    """The edge reads the stored level before routing: its failure must not lose the notice
    the request's own answers call for, nor turn into a 500."""
    with TestClient(app_on) as client:
        created = create(client, answers={"anx01": 5})
        address = f"{API}/responses/{created['response_id']}"
        outage.begin(app_on.state.engine)
        counted_before = notices_counted()
        try:
            refused = client.put(
                f"{address}/answers",
                json={"answers": {"wb_now": 1}},
                headers=bearer(created["token"]),
            )
        finally:
            outage.end()
        assert assert_unavailable(refused)["crisis"]["level"] == "acute"
        assert notices_counted() - counted_before == 1

        after = client.get(address, headers=bearer(created["token"])).json()
        assert after["answers"] == {"anx01": 5}  # nothing of the refused request was stored


def test_readiness_says_not_ready_in_an_outage(outage: Outage, app_on: Any) -> None:
    with TestClient(app_on) as client:
        assert client.get("/readyz").status_code == 200
        outage.begin(app_on.state.engine)
        try:
            refused = client.get("/readyz")
            alive = client.get("/healthz")
        finally:
            outage.end()
        assert refused.status_code == 503
        assert refused.headers["retry-after"].isdigit()
        assert refused.json()["type"] == "/problems/database-unavailable"
        assert alive.status_code == 200  # the process itself is fine: do not restart it
        assert client.get("/readyz").status_code == 200


# The document --------------------------------------------------------------------------------

TOKEN = bearer("t" * 43)
RESPONSE = f"{API}/responses/some-response"


def _researcher_key(engine: Engine) -> str:
    with Session(engine) as session:
        _, key = create_key(session, "Outage Researcher", (), dt.datetime.now(dt.UTC))
        session.commit()
    return key


def _one_call_each(
    resource: dict[str, Any], researcher_key: str
) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Per operation id: a request it accepts as far as the database (method, address, and
    the keyword arguments of ``TestClient.request``)."""
    research_headers = {**bearer(researcher_key), "Accept": "application/json"}
    score = f"{API}/questionnaires/{QUESTIONNAIRE}/score"
    answers = {"answers": {"anx01": 3}}
    research = {"questionnaire_id": QUESTIONNAIRE}
    return {
        "listQuestionnaires": ("GET", f"{API}/questionnaires", {}),
        "getQuestionnaire": ("GET", f"{API}/questionnaires/{QUESTIONNAIRE}", {}),
        "scoreAnswers": ("POST", score, {"json": answers}),
        "scoreBatch": ("POST", f"{score}/batch", {"json": {"responses": [answers]}}),
        "getQuestionnaireAsFhir": ("GET", f"{API}/questionnaires/{QUESTIONNAIRE}/fhir", {}),
        "scoreFhirQuestionnaireResponse": (
            "POST",
            f"{API}/fhir/QuestionnaireResponse",
            {"json": resource, "params": {"store": "true"}},
        ),
        "createResponse": (
            "POST",
            f"{API}/responses",
            {"json": {"questionnaire_id": QUESTIONNAIRE, **answers}},
        ),
        "saveAnswers": ("PUT", f"{RESPONSE}/answers", {"json": answers, "headers": TOKEN}),
        "submitResponse": ("POST", f"{RESPONSE}/submit", {"headers": TOKEN}),
        "getResponse": ("GET", RESPONSE, {"headers": TOKEN}),
        "getResponseAsFhir": ("GET", f"{RESPONSE}/fhir", {"headers": TOKEN}),
        "deleteResponse": ("DELETE", RESPONSE, {"headers": TOKEN}),
        "getCrisisResources": ("GET", f"{API}/crisis-resources", {"params": {"country": "GB"}}),
        "getResearchSummary": (
            "GET",
            f"{API}/research/summary",
            {"params": research, "headers": research_headers},
        ),
        "getResearchHistograms": (
            "GET",
            f"{API}/research/histograms",
            {"params": research, "headers": research_headers},
        ),
        "getResearchItems": (
            "GET",
            f"{API}/research/items",
            {"params": research, "headers": research_headers},
        ),
        "getResearchCodebook": (
            "GET",
            f"{API}/research/codebook",
            {"params": research, "headers": research_headers},
        ),
        "getHealth": ("GET", "/healthz", {}),
        "getReadiness": ("GET", "/readyz", {}),
    }


def test_every_operation_the_outage_makes_503_documents_it_with_retry_after(
    outage: Outage, app_on: Any
) -> None:
    """An integrator learns from the document which calls to retry: 503 is listed on exactly
    the operations that answer it when the database is away, with ``Retry-After``."""
    with TestClient(app_on) as client:
        document = client.get("/openapi.json").json()
        key = _researcher_key(app_on.state.engine)
        calls = _one_call_each(_fhir_answers(client, risky_answers()), key)
        documented = {
            operation["operationId"]: operation["responses"]
            for by_method in document["paths"].values()
            for operation in by_method.values()
        }
        assert set(calls) == set(documented), "every operation needs a call here"
        outage.begin(app_on.state.engine)
        try:
            answered = {
                name: client.request(method, address, **options)
                for name, (method, address, options) in calls.items()
            }
        finally:
            outage.end()
    unavailable = {name for name, reply in answered.items() if reply.status_code == 503}
    listed = {name for name, responses in documented.items() if "503" in responses}
    assert unavailable == listed, {
        "answered 503, not documented": sorted(unavailable - listed),
        "documented, never 503 here": sorted(listed - unavailable),
    }
    for name in unavailable:
        reply = answered[name]
        assert reply.headers["retry-after"].isdigit(), name
        media_type = reply.headers["content-type"].split(";")[0]
        assert media_type in documented[name]["503"]["content"], name
        assert "Retry-After" in documented[name]["503"]["headers"], name


def test_an_outage_in_the_middle_of_a_research_export_is_a_503_not_part_of_one(
    outage: Outage, app_on: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The item statistics read the research copies a batch at a time (concatenated by
    SQLite a range of submission times at a time, by PostgreSQL a day at a time); here the
    database goes away after the first batch. The export is built in full (and logged) before
    its first byte is sent, so the client gets a 503 to retry, never part of an export."""
    batches_read = 0

    def outage_after_the_first_batch(read: Callable[..., Iterator[Any]]) -> Any:
        def reading(*args: Any) -> Iterator[Any]:
            nonlocal batches_read
            for batch in read(*args):
                yield batch
                batches_read += 1
                if batches_read == 1:
                    outage.begin(app_on.state.engine)

        return reading

    monkeypatch.setattr(research_data, "_ANSWER_BATCH", 1)
    for reader in ("_row_batches", "copies_in_ranges", "copies_by_day"):
        real = getattr(research_data, reader)
        monkeypatch.setattr(research_data, reader, outage_after_the_first_batch(real))
    body = {
        "questionnaire_id": QUESTIONNAIRE,
        "answers": complete_answers(),
        "submit": True,
        "consent": {"research": True},
    }
    with TestClient(app_on) as client:
        for _ in range(3):
            assert client.post(f"{API}/responses", json=body).status_code == 201
        key = _researcher_key(app_on.state.engine)
        try:
            reply = client.get(
                f"{API}/research/items",
                params={"questionnaire_id": QUESTIONNAIRE},
                headers={**bearer(key), "Accept": "application/json"},
            )
        finally:
            if batches_read:
                outage.end()
    assert batches_read >= 1, "the export never read a batch"
    assert_unavailable(reply)


# The web client ------------------------------------------------------------------------------


def _start_in_browser(web: TestClient) -> str:
    landing = web.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert landing.status_code == 200
    token = web.cookies.get("__Host-securebase-csrf")
    assert token
    attempt = landing.text.split('name="attempt" value="', 1)[1].split('"', 1)[0]
    started = web.post("/start", data={CSRF_FIELD: token, "attempt": attempt})
    assert started.status_code == 303, started.text
    return token


def test_a_risky_page_posted_in_an_outage_is_a_503_page_with_the_notice_and_help(
    outage: Outage, app_on: Any
) -> None:
    with TestClient(app_on, base_url="https://testserver", follow_redirects=False) as web:
        token = _start_in_browser(web)
        form = {CSRF_FIELD: token, "action": "finish", "wb_now": "1"}
        outage.begin(app_on.state.engine)
        counted_before = notices_counted()
        try:
            refused = web.post("/questionnaire/5", data=form, headers={"Accept": BROWSER_ACCEPT})
        finally:
            outage.end()
        assert refused.status_code == 503, refused.text
        assert notices_counted() - counted_before == 1
        assert refused.headers["content-type"].startswith("text/html")
        assert refused.headers["retry-after"].isdigit()
        page = refused.text
        assert 'href="/help"' in page
        assert 'id="crisis-notice"' in page
        assert 'data-level="acute"' in page
        assert "try again" in page.lower()
        for word in INTERNALS:
            assert word not in page.lower(), f"the page mentions {word!r}"

        # Back up: the session is still there and nothing of the refused form was saved.
        again = web.get("/questionnaire/5", headers={"Accept": BROWSER_ACCEPT})
        assert again.status_code == 200, again.text
        assert 'name="wb_now" value="1" checked' not in again.text


def test_the_help_page_is_shown_in_an_outage(outage: Outage, app_on: Any) -> None:
    """Its contacts come from the resources file: a browser whose saved answers cannot be
    read just now still gets them, and keeps its session for later."""
    with TestClient(app_on, base_url="https://testserver", follow_redirects=False) as web:
        _start_in_browser(web)
        outage.begin(app_on.state.engine)
        try:
            shown = web.get("/help", headers={"Accept": BROWSER_ACCEPT})
        finally:
            outage.end()
        assert shown.status_code == 200, shown.text
        assert 'class="contact contact-emergency"' in shown.text
        assert "set-cookie" not in shown.headers or "session" not in shown.headers["set-cookie"]
        assert web.get("/questionnaire/1").status_code == 200


def test_the_script_in_an_outage_still_gets_the_notice_to_show(outage: Outage, app_on: Any) -> None:
    with TestClient(app_on, base_url="https://testserver", follow_redirects=False) as web:
        token = _start_in_browser(web)
        outage.begin(app_on.state.engine)
        counted_before = notices_counted()
        try:
            refused = web.post(
                "/web/answers", json={"answers": {"wb_now": 1}}, headers={"X-CSRF-Token": token}
            )
        finally:
            outage.end()
        assert refused.status_code == 503, refused.text
        assert notices_counted() - counted_before == 1
        assert refused.headers["retry-after"].isdigit()
        reply = refused.json()
        assert reply["saved"] is False
        assert reply["level"] == "acute"
        assert 'id="crisis-notice"' in reply["notice_html"]


# The group writer ----------------------------------------------------------------------------


def test_a_commit_the_writer_cannot_make_in_time_is_503_with_the_notice(
    tmp_path: Path, catalog: Catalog, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads still work (write-ahead log), but another connection holds the write lock past
    the busy timeout: the writer's failure reaches the waiting request as a 503."""
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 1)
    path = tmp_path / "securebase.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    app = create_app(Settings(environment="test", database_url=url), catalog)
    body = {"questionnaire_id": QUESTIONNAIRE, "answers": risky_answers(), "submit": True}
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        with TestClient(app) as client:
            holder.execute("BEGIN IMMEDIATE")
            counted_before = notices_counted()
            try:
                refused = client.post(f"{API}/responses", json=body)
            finally:
                holder.execute("ROLLBACK")
            assert assert_unavailable(refused)["crisis"]["level"] == "acute"
            # Worked out before the commit failed, shown with the 503: counted once.
            assert notices_counted() - counted_before == 1
            assert row_counts(url) == {"response_session": 0, "idempotency_record": 0}
            assert client.post(f"{API}/responses", json=body).status_code == 201
    finally:
        holder.close()
        app.state.engine.dispose()
