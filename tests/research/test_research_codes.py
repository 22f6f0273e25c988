"""The packed codes stored at submission are what decoding the research copy gives.

The PostgreSQL exports count the codes stored with each response instead of decoding its
research copy; every exported number stays the same only if the two agree on every
definition (random ones, the bundled questionnaire, the ECR-RS with its per-relationship
dimensions), with items left unanswered, and on every path that submits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from research_support import (
    NOW,
    QUESTIONNAIRE,
    WITH_DEMOGRAPHICS,
    Respondent,
    insert,
    latent_answers,
    submit_through_api,
)
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session
from test_research_counting import varied

from app import migrations
from app.repositories import research_arrays, research_data, research_days, research_pg_days
from app.repositories.research_codes import code_width, packed_dimensions, stored_codes
from app.repositories.research_scope import PackedDimension, ResponseFilter
from app.services.research.request import grouping_of
from scoring import answer_copy
from scoring.catalog import Catalog
from scoring.definition import Definition
from scoring.loading import load_definition
from tests.scoring.test_vectorized import answer_sets, definitions

ROOT = Path(__file__).resolve().parents[2]


def decoded(dimensions: tuple[PackedDimension, ...], copy: bytes) -> list[int]:
    """Each dimension's code as the streamed exports decode it (numpy, batch of one)."""
    counts = research_arrays.CodeCounts(dimensions)
    counts.add([None], research_arrays.matrix_of([copy]))
    found = sorted((index, code) for (_, index, code), n in counts.counter().items())
    assert [index for index, _ in found] == list(range(len(dimensions)))
    return [code for _, code in found]


def read(stored: bytes, dimensions: tuple[PackedDimension, ...]) -> list[int]:
    width = code_width(dimensions)
    return [
        int.from_bytes(stored[i * width : (i + 1) * width], "big") for i in range(len(dimensions))
    ]


def assert_agree(definition: Definition, answers: dict[str, int]) -> None:
    dimensions = packed_dimensions(definition)
    copy = answer_copy.encode(definition, answers)
    stored = stored_codes(dimensions, copy)
    assert len(stored) == code_width(dimensions) * len(dimensions)
    assert read(stored, dimensions) == decoded(dimensions, copy)


def _without_codes(engine: Engine, count: int) -> int:
    """Take the stored codes from ``count`` rows, as a version not loaded at migration would
    have left them; how many rows lost theirs."""
    with engine.begin() as connection:
        return connection.execute(
            text(
                "UPDATE response_session SET research_codes = NULL WHERE id IN "
                "(SELECT id FROM response_session WHERE research_codes IS NOT NULL "
                "ORDER BY id LIMIT :count)"
            ),
            {"count": count},
        ).rowcount


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_definitions_store_the_codes_their_copies_decode_to(data: st.DataObject) -> None:
    definition = data.draw(definitions())
    for _ in range(5):
        answers: dict[str, Any] = data.draw(answer_sets(definition, invalid=False))
        assert_agree(definition, answers)


@pytest.mark.parametrize("source", ["bundled", "ecr-r", "ecr-rs"])
def test_shipped_questionnaires_store_the_codes_their_copies_decode_to(
    catalog: Catalog, source: str
) -> None:
    if source == "bundled":
        definition = catalog.definitions["attachment-self-reflection"].definition
    else:
        definition = load_definition(
            ROOT / "questionnaires" / "library" / f"{source}.yaml"
        ).definition
    rng = np.random.default_rng(3)
    if source == "ecr-rs":  # one dimension per relationship and tendency
        assert len(definition.dimensions) > 3
    for _ in range(200):
        answers = {}
        for item in definition.items:
            scale = definition.scales[item.scale]
            if rng.random() < 0.2:
                continue  # left unanswered
            answers[item.id] = int(rng.integers(scale.min, scale.max + 1))
        assert_agree(definition, answers)
    assert_agree(definition, {})


def test_codes_too_large_for_two_bytes_take_four(catalog: Catalog) -> None:
    definition = catalog.definitions["attachment-self-reflection"].definition
    wide = tuple(
        dataclasses.replace(
            d, items=tuple(dataclasses.replace(i, low=0, high=250) for i in d.items) * 30
        )
        for d in packed_dimensions(definition)
    )
    assert code_width(wide) == 4
    copy = bytes([251, 0, 7] * 9)
    assert read(stored_codes(wide, copy), wide) == decoded(wide, copy)


def stored_rows(database_url: str) -> list[tuple[str, bytes | None, bytes | None, bytes]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [
                (
                    r[0],
                    None if r[1] is None else bytes(r[1]),
                    None if r[2] is None else bytes(r[2]),
                    r[3],
                )
                for r in connection.execute(
                    text(
                        "SELECT id, research_answers, research_codes, questionnaire_id "
                        "FROM response_session"
                    )
                )
            ]
    finally:
        engine.dispose()


def test_every_submitting_path_stores_the_codes_of_its_copy(
    database_url: str, client: TestClient, catalog: Catalog
) -> None:
    """Started and submitted at once (the writer's rows), through the service directly,
    saved then submitted (the ORM path), and without consent (no copy, no codes)."""
    rng = np.random.default_rng(11)
    people = latent_answers(rng, 6, catalog, missing=0.2)
    engine = create_engine(database_url)
    try:
        insert(engine, catalog, [Respondent(a) for a in people[:3]])
    finally:
        engine.dispose()
    submit_through_api(client, people[3], research=True)
    declined = submit_through_api(client, people[4], research=False)
    created = client.post(
        "/api/v1/responses",
        json={
            "questionnaire_id": "attachment-self-reflection",
            "answers": people[5],
            "consent": {"research": True},
        },
    )
    assert created.status_code == 201, created.text
    saved = created.json()
    submitted = client.post(
        f"/api/v1/responses/{saved['response_id']}/submit",
        headers={"Authorization": f"Bearer {saved['token']}"},
    )
    assert submitted.status_code == 200, submitted.text

    rows = stored_rows(database_url)
    assert len(rows) == 6
    for response_id, copy, codes, questionnaire in rows:
        if response_id == declined:
            assert copy is None
            assert codes is None
            continue
        assert copy is not None
        assert codes is not None
        dimensions = packed_dimensions(catalog.definitions[questionnaire].definition)
        assert read(codes, dimensions) == decoded(dimensions, copy)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_database_counts_stored_codes_as_python_decodes_copies(
    database_url: str, catalog: Catalog
) -> None:
    """The PostgreSQL counts made from the stored codes (and, for a row stored without
    them, from its copy) equal the counts decoded from the streamed copies."""
    engine = create_engine(database_url)
    try:
        insert(engine, catalog, varied(catalog, np.random.default_rng(5), 160))
        assert _without_codes(engine, 7) == 7
        with Session(engine) as session:
            for questionnaire in (QUESTIONNAIRE, WITH_DEMOGRAPHICS):
                loaded = catalog.definitions[questionnaire]
                definition = loaded.definition
                dimensions = packed_dimensions(definition)
                where = ResponseFilter(questionnaire, loaded.content_hash)
                names = [None, "study", "tendency", *(d.id for d in definition.demographics)]
                for name in names:
                    grouping = None if name is None else grouping_of(definition, name)
                    for unit in ("week", "month"):
                        stored = research_data.counted_in_database(
                            session, where, grouping, unit, dimensions, stored=True
                        )
                        streamed = research_data.streamed_counts(
                            session, where, grouping, unit, dimensions
                        )
                        assert stored.responses == streamed.responses, (name, unit)
                        assert stored.codes == streamed.codes, (name, unit)
                    codes = research_data.dimension_codes(
                        session, where, grouping, dimensions, stored=True
                    )
                    assert codes == research_data.streamed_codes(
                        session, where, grouping, dimensions
                    )
    finally:
        engine.dispose()


def test_streamed_counts_of_stored_codes_are_those_of_decoded_copies(
    database_url: str, catalog: Catalog
) -> None:
    """SQLite's way (rows streamed to Python): counting the stored codes (a copy's own where
    a row has none) gives what decoding every copy gives, for every grouping and period."""
    engine = create_engine(database_url)
    try:
        insert(engine, catalog, varied(catalog, np.random.default_rng(9), 120))
        _without_codes(engine, 5)
        with Session(engine) as session:
            for questionnaire in (QUESTIONNAIRE, WITH_DEMOGRAPHICS):
                loaded = catalog.definitions[questionnaire]
                definition = loaded.definition
                dimensions = packed_dimensions(definition)
                where = ResponseFilter(questionnaire, loaded.content_hash)
                names = [None, "study", "country", *(d.id for d in definition.demographics)]
                for name in names:
                    grouping = None if name is None else grouping_of(definition, name)
                    for unit in ("week", "month"):
                        counted = research_data.streamed_counts(
                            session, where, grouping, unit, dimensions, stored=True
                        )
                        decoded = research_data.streamed_counts(
                            session, where, grouping, unit, dimensions
                        )
                        assert counted == decoded, (name, unit)
                        assert sum(decoded.responses.values()) > 20
                    assert research_data.streamed_codes(
                        session, where, grouping, dimensions, stored=True
                    ) == research_data.streamed_codes(session, where, grouping, dimensions)
    finally:
        engine.dispose()


LIBRARY = ROOT / "questionnaires" / "library"


def filters(questionnaire: str, content_hash: str) -> list[ResponseFilter]:
    """Every response; one study; all but one study; a range starting and ending within a
    day (so its first and last days are counted in part)."""
    return [
        ResponseFilter(questionnaire, content_hash),
        ResponseFilter(questionnaire, content_hash, studies=("alpha",)),
        ResponseFilter(questionnaire, content_hash, excluded_studies=("beta",)),
        ResponseFilter(
            questionnaire,
            content_hash,
            submitted_from=NOW - dt.timedelta(days=40, hours=5),
            submitted_before=NOW - dt.timedelta(days=9, hours=-3),
        ),
    ]


def on_the_edges(catalog: Catalog) -> list[Respondent]:
    """Respondents at the first and last instants of a day, a week and a month (UTC), where
    a day counted by the wrong range would land in the wrong period."""
    sunday = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)  # also the first day of a month
    moments = [
        sunday - dt.timedelta(microseconds=1),  # Saturday 31 January, 23:59:59.999999
        sunday,
        sunday + dt.timedelta(days=1) - dt.timedelta(microseconds=1),
        sunday + dt.timedelta(days=1),  # Monday: the next ISO week
        dt.datetime(2026, 2, 28, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    ]
    answers = latent_answers(np.random.default_rng(13), len(moments) * 3, catalog)
    return [
        Respondent(answers[index], study=["alpha", None, "beta"][index % 3], submitted_at=moment)
        for index, moment in enumerate(moments * 3)
    ]


def assert_counted_by_day_as_decoded(
    session: Session,
    where: ResponseFilter,
    names: list[str | None],
    definition: Definition,
    dimensions: tuple[PackedDimension, ...],
) -> int:
    """The counts a day at a time inside the database (SQLite: a query per day or span of
    days; PostgreSQL: one query with a subquery per day), from the codes stored at
    submission (the copy's own where a row has none), equal the counts of every streamed
    copy decoded in Python, for every grouping and period, and so do the sums of the item
    statistics from each day's concatenated copies; how many responses were counted."""
    tallies = research_data.item_tallies(session, where, dimensions)
    assert tallies == research_data.streamed_tallies(session, where, dimensions)
    by_days = (
        research_pg_days.counted_by_day
        if session.get_bind().dialect.name == "postgresql"
        else research_days.counted_by_day
    )
    counted = 0
    for name in names:
        grouping = None if name is None else grouping_of(definition, name)
        for unit in ("week", "month"):
            responses, codes = by_days(session.connection(), where, grouping, unit, dimensions)
            decoded = research_data.streamed_counts(session, where, grouping, unit, dimensions)
            assert responses == decoded.responses, (where, name, unit)
            assert codes == decoded.codes, (where, name, unit)
            assert research_data.response_counts(
                session, where, grouping, unit, dimensions, stored=True
            ) == research_data.ResponseCounts(responses, codes)
            counted = sum(responses.values())
            assert tallies.n == counted
        by_day = by_days(session.connection(), where, grouping, None, dimensions)
        assert by_day[0] == Counter()
        assert by_day[1] == research_data.streamed_codes(session, where, grouping, dimensions)
        assert by_day[1] == research_data.dimension_codes(
            session, where, grouping, dimensions, stored=True
        )
    return counted


def wide_codes_stored(
    engine: Engine, definition: Definition, times: int, high: int
) -> tuple[PackedDimension, ...]:
    """Other rules for ``definition`` (each item ``times`` times, on a scale from 0 to
    ``high``), whose codes every stored row of it is given for its copy; the rules."""
    wide = tuple(
        dataclasses.replace(
            d, items=tuple(dataclasses.replace(i, low=0, high=high) for i in d.items) * times
        )
        for d in packed_dimensions(definition)
    )
    with engine.begin() as connection:
        for response_id, copy in connection.execute(
            text(
                "SELECT id, research_answers FROM response_session "
                "WHERE questionnaire_id = :q AND research_answers IS NOT NULL"
            ),
            {"q": definition.id},
        ).all():
            connection.execute(
                text("UPDATE response_session SET research_codes = :codes WHERE id = :id"),
                {"codes": stored_codes(wide, bytes(copy)), "id": response_id},
            )
    return wide


@pytest.mark.parametrize(
    ("database_url", "spans"),
    [
        ("sqlite", "a day each"),
        ("sqlite", "several days where few"),
        pytest.param("postgresql", "a day each", marks=pytest.mark.postgres),
    ],
    indirect=["database_url"],
)
def test_each_day_counted_in_the_database_is_what_python_decodes_from_each_copy(
    database_url: str, catalog: Catalog, spans: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: every count spans one day (as where days hold many responses), or several
    days with the day as a key (as here, where they hold a few). PostgreSQL: a subquery
    per day, days without responses among them."""
    if spans == "a day each":
        monkeypatch.setattr(research_days, "_SPARSE", 0)
        monkeypatch.setattr(research_days, "_CODES_PER_COUNT", 0)
    engine = create_engine(database_url)
    try:
        people = varied(catalog, np.random.default_rng(17), 240) + on_the_edges(catalog)
        insert(engine, catalog, people)
        assert _without_codes(engine, 9) == 9
        with Session(engine) as session:
            for questionnaire in (QUESTIONNAIRE, WITH_DEMOGRAPHICS):
                loaded = catalog.definitions[questionnaire]
                definition = loaded.definition
                dimensions = packed_dimensions(definition)
                demographic = [d.id for d in definition.demographics]
                names = [None, "study", "language", "country", "tendency", *demographic]
                for where in filters(questionnaire, loaded.content_hash):
                    counted = assert_counted_by_day_as_decoded(
                        session, where, names, definition, dimensions
                    )
                    assert counted > 20, where
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_codes_of_four_bytes_and_many_dimensions_are_counted_by_day(
    database_url: str, catalog: Catalog
) -> None:
    """Codes too large for two bytes (stored as such for every row here), and the ECR-RS,
    whose eight dimensions each have a code per response."""
    library = Catalog.load([ROOT / "tests" / "research" / "fixtures", LIBRARY])
    rng = np.random.default_rng(19)
    ecr = library.definitions["ecr-rs"].definition
    relationships = []
    for index in range(150):
        answers = {}
        for dimension in ecr.dimensions:
            items = ecr.items_of(dimension.id)
            # One item of six may be left unanswered (three quarters are needed).
            skipped = int(rng.integers(0, 6)) if len(items) == 6 and rng.random() < 0.4 else -1
            for position, item in enumerate(items):
                scale = ecr.scales[item.scale]
                if position != skipped:
                    answers[item.id] = int(rng.integers(scale.min, scale.max + 1))
        relationships.append(
            Respondent(
                answers,
                questionnaire="ecr-rs",
                study=[None, "alpha", "beta"][index % 3],
                country=[None, "DE", "FR"][index % 3],
                submitted_at=NOW - dt.timedelta(days=int(rng.integers(0, 60)), hours=index % 24),
            )
        )
    engine = create_engine(database_url)
    try:
        insert(engine, library, varied(catalog, np.random.default_rng(23), 120) + relationships)
        loaded = catalog.definitions[QUESTIONNAIRE]
        wide = wide_codes_stored(engine, loaded.definition, 3, 250)
        assert code_width(wide) == 4
        assert _without_codes(engine, 4) == 4
        with Session(engine) as session:
            names: list[str | None] = [None, "study", "country"]
            where = ResponseFilter(QUESTIONNAIRE, loaded.content_hash)
            assert assert_counted_by_day_as_decoded(session, where, names, loaded.definition, wide)
            relationship = library.definitions["ecr-rs"]
            dimensions = packed_dimensions(relationship.definition)
            assert len(dimensions) == 8
            for where in filters("ecr-rs", relationship.content_hash):
                assert assert_counted_by_day_as_decoded(
                    session, where, names, relationship.definition, dimensions
                )
    finally:
        engine.dispose()


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_random_definitions_count_joined_stored_codes_as_decoded_copies(
    data: st.DataObject,
) -> None:
    """What the day-by-day count does with a group's concatenated codes (read end to end
    with numpy) gives what decoding each copy gives, whatever the definition and width."""
    definition = data.draw(definitions())
    dimensions = packed_dimensions(definition)
    copies = [
        answer_copy.encode(definition, data.draw(answer_sets(definition, invalid=False)))
        for _ in range(data.draw(st.integers(1, 12)))
    ]
    joined = research_arrays.CodeCounts(dimensions)
    joined.add_block("g", b"".join(stored_codes(dimensions, copy) for copy in copies))
    one_by_one = research_arrays.CodeCounts(dimensions)
    one_by_one.add(["g"] * len(copies), research_arrays.matrix_of(copies))
    assert joined.counter() == one_by_one.counter()


def test_sqlite_counts_by_day_in_a_database_of_another_encoding(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A database created as UTF-16 (big-endian), where SQLite would read concatenated
    codes as text of that encoding and change some bytes: the counts are still those of
    the decoded copies."""
    path = tmp_path / "utf16.db"
    created = sqlite3.connect(path)
    created.execute("PRAGMA encoding = 'UTF-16be'")
    created.execute("CREATE TABLE encoding_chosen (x)")
    created.execute("DROP TABLE encoding_chosen")
    created.close()
    url = f"sqlite:///{path}"
    migrations.upgrade(url)
    engine = create_engine(url)
    try:
        insert(engine, catalog, varied(catalog, np.random.default_rng(29), 120))
        # Codes of which many are between 0xD800 and 0xDFFF, which UTF-16 reserves for pairs.
        wide = wide_codes_stored(engine, catalog.definitions[WITH_DEMOGRAPHICS].definition, 2, 190)
        assert _without_codes(engine, 3) == 3
        with Session(engine) as session:
            encoding = session.connection().exec_driver_sql("PRAGMA encoding").scalar()
            assert encoding == "UTF-16be"
            bundled = catalog.definitions[QUESTIONNAIRE]
            assert assert_counted_by_day_as_decoded(
                session,
                ResponseFilter(QUESTIONNAIRE, bundled.content_hash),
                [None, "study"],
                bundled.definition,
                packed_dimensions(bundled.definition),
            )
            loaded = catalog.definitions[WITH_DEMOGRAPHICS]
            definition = loaded.definition
            names = [None, "study", *(d.id for d in definition.demographics)]
            where = ResponseFilter(WITH_DEMOGRAPHICS, loaded.content_hash)
            stored = b"".join(
                bytes(codes)
                for (codes,) in session.connection().execute(
                    text("SELECT research_codes FROM response_session WHERE questionnaire_id = :q"),
                    {"q": WITH_DEMOGRAPHICS},
                )
                if codes is not None
            )
            halves = np.frombuffer(stored, dtype=">u2")
            assert ((halves >= 0xD800) & (halves <= 0xDFFF)).any()
            assert assert_counted_by_day_as_decoded(session, where, names, definition, wide)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_reads_the_copies_in_small_ranges_even_where_many_share_an_instant(
    database_url: str, catalog: Catalog
) -> None:
    """The item statistics' copies come in ranges of submission times holding a bounded
    number of responses; responses submitted at the very same instant (here up to a dozen)
    all come in one range, and none is read twice or left out."""
    engine = create_engine(database_url)
    try:
        insert(engine, catalog, varied(catalog, np.random.default_rng(31), 200))
        with Session(engine) as session:
            loaded = catalog.definitions[QUESTIONNAIRE]
            instants = session.connection().execute(
                text(
                    "SELECT submitted_at, count(*) FROM response_session "
                    "WHERE questionnaire_id = :q AND research_answers IS NOT NULL "
                    "GROUP BY submitted_at"
                ),
                {"q": QUESTIONNAIRE},
            )
            most_at_once = max(n for _, n in instants)
            assert most_at_once >= 3
            streamed = sorted(
                bytes(copy)
                for (copy,) in session.connection().execute(
                    text(
                        "SELECT research_answers FROM response_session "
                        "WHERE questionnaire_id = :q AND research_consent "
                        "AND research_answers IS NOT NULL"
                    ),
                    {"q": QUESTIONNAIRE},
                )
            )
            where = ResponseFilter(QUESTIONNAIRE, loaded.content_hash)
            for rows in (1, 2, 5, 40, 1000):
                matrices = list(research_days.copies_in_ranges(session.connection(), where, rows))
                assert max(len(m) for m in matrices) <= max(rows, most_at_once)
                read = sorted(bytes(row) for m in matrices for row in m)
                assert read == streamed, rows
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_lost_while_days_are_fetched_is_an_outage(
    database_url: str, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's days are fetched through the driver's own cursor: a connection lost
    between two fetches is raised as the database errors the API answers with 503, never
    as a driver error it does not know (a 500)."""
    from app.errors import DATABASE_OUTAGES

    monkeypatch.setattr(research_pg_days, "_DAYS", 1)  # a fetch per day
    engine = create_engine(database_url)
    try:
        insert(engine, catalog, varied(catalog, np.random.default_rng(31), 60))
        loaded = catalog.definitions[QUESTIONNAIRE]
        where = ResponseFilter(QUESTIONNAIRE, loaded.content_hash)
        with engine.connect() as connection:
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            days = research_pg_days._covered_days(connection, where)
            assert days is not None
            assert days[0] < days[1]
            copies = research_pg_days.copies_by_day(connection, where, 1, days)
            assert len(next(copies)) == 1
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            with pytest.raises(DATABASE_OUTAGES):
                for _ in copies:
                    pass
            connection.invalidate()  # gone: nothing to roll back
    finally:
        engine.dispose()
