"""Exports grouped by a demographic item the questionnaire declares.

``fixtures/attachment-demographics.yaml`` is the bundled questionnaire under another id, plus
``age_band`` (four options) and ``living_area`` (two). A demographic answer is the option's
position from 1; the research copy carries it after the items; ``group_by=age_band`` shows
each group by its option id, the people who did not answer as a group of their own (``null``),
and pools and suppresses small groups exactly as any other grouping does.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import frictionless
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from research_support import (
    DIMENSIONS,
    NOW,
    PROBLEM_JSON,
    QUESTIONNAIRE,
    WITH_DEMOGRAPHICS,
    Respondent,
    eligible_rows,
    export,
    insert,
    latent_answers,
    new_key,
    ok,
    submit_through_api,
    table_rows,
)

from app.services.research.tallies import BlockTally, pooled
from scoring.catalog import Catalog

AGE_BANDS = ("18-24", "25-39", "40-59", "60-plus")
TENDENCIES = ("anxious", "avoidant", "disorganized")
PRIMARY = (*TENDENCIES, "secure")
LEVELS = ("acute", "urgent", "support")
TOLERANCE = 1e-9
ITEM_COUNT = 27
"""The research copy holds the 27 items' bytes, then age_band's, then living_area's."""


def people_by_age_band(
    rng: np.random.Generator, catalog: Catalog, sizes: dict[int, int]
) -> list[Respondent]:
    """``sizes[p]`` respondents chose age band ``p`` (0: did not answer), in random order, with
    latent answers, a tenth of them overwhelmed (a support-level crisis notice), each in the
    study named after their band so that the same grouping can be asked for by study."""
    places = [place for place, count in sizes.items() for _ in range(count)]
    rng.shuffle(places)
    people = []
    for place, answers in zip(places, latent_answers(rng, len(places), catalog), strict=True):
        if place:
            answers["age_band"] = place
        if rng.random() < 0.1:
            answers["wb_overwhelmed"] = 3
        people.append(
            Respondent(
                answers,
                questionnaire=WITH_DEMOGRAPHICS,
                study=f"band{place}" if place else None,
                submitted_at=NOW - dt.timedelta(days=int(rng.integers(0, 60))),
            )
        )
    return people


def close(published: float | None, expected: float) -> bool:
    return published is not None and abs(published - expected) <= TOLERANCE * max(
        1.0, abs(expected)
    )


def compare_block(
    block: dict[str, Any], members: pd.DataFrame, prefix: str, suppressed: set[str]
) -> int:
    """Check a block's N, dimension statistics and tendency and crisis counts against pandas;
    a count shown as null must be listed as withheld. Returns how many counts were published."""
    n = len(members)
    assert block["n"] == n
    for dimension in DIMENSIONS:
        scores = members[dimension].to_numpy(dtype=float)
        published = block["dimensions"][dimension]
        assert published["n"] == len(scores)
        assert close(published["mean"], float(scores.mean())), (prefix, dimension)
        assert close(published["sd"], float(scores.std(ddof=1))), (prefix, dimension)
    cells: list[tuple[str, dict[str, Any], int, str]] = []
    for tendency in PRIMARY:
        count = int((members["primary"] == tendency).sum())
        pointer = f"{prefix}/tendencies/primary/{tendency}"
        cells.append((pointer, block["tendencies"]["primary"][tendency], count, "share"))
    for tendency in TENDENCIES:
        count = int(members[f"elevated_{tendency}"].sum())
        pointer = f"{prefix}/tendencies/elevated/{tendency}"
        cells.append((pointer, block["tendencies"]["elevated"][tendency], count, "share"))
    for level in LEVELS:
        count = int((members["crisis"] == level).sum())
        cells.append((f"{prefix}/crisis/{level}", block["crisis"][level], count, "rate"))
    published_counts = 0
    for pointer, cell, count, ratio in cells:
        if cell["count"] is None:
            assert f"{pointer}/count" in suppressed
            assert cell[ratio] is None
            continue
        published_counts += 1
        assert cell["count"] == count, pointer
        assert close(cell[ratio], count / n), pointer
    return published_counts


@pytest.fixture
def banded(
    make_client: Any, catalog: Catalog, database_url: str
) -> tuple[TestClient, str, pd.DataFrame]:
    """k = 3; 150 respondents: 50 aged 18-24, 45 aged 25-39, 36 who did not say, 15 aged
    40-59 and 2 aged 60 or older (too few: pooled, with 40-59 joining to make the pool big
    enough); plus responses to the bundled questionnaire, which must not count."""
    client: TestClient = make_client(min_cell_size=3)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    rng = np.random.default_rng(20261128)
    people = people_by_age_band(rng, catalog, {1: 50, 2: 45, 3: 15, 4: 2, 0: 36})
    people += [Respondent(answers) for answers in latent_answers(rng, 20, catalog)]
    insert(engine, catalog, people)
    frame = eligible_rows(database_url)
    frame = frame[frame["questionnaire"] == WITH_DEMOGRAPHICS]
    band = frame["age_band"].map(lambda place: AGE_BANDS[int(place) - 1], na_action="ignore")
    return client, new_key(engine), frame.assign(age_band=band)


def test_a_summary_grouped_by_age_band_equals_pandas_per_group(
    banded: tuple[TestClient, str, pd.DataFrame],
) -> None:
    client, key, frame = banded
    body = ok(
        export(client, "summary", key, questionnaire_id=WITH_DEMOGRAPHICS, group_by="age_band")
    )

    assert body["group_by"] == "age_band"
    assert body["meta"]["filters"]["group_by"] == "age_band"
    groups = body["groups"]
    assert [(g["key"], g["other"]) for g in groups] == [
        ("18-24", False),
        ("25-39", False),
        (None, False),
        (None, True),
    ]
    members = [
        frame[frame["age_band"] == "18-24"],
        frame[frame["age_band"] == "25-39"],
        frame[frame["age_band"].isna()],
        frame[frame["age_band"].isin(["40-59", "60-plus"])],
    ]
    assert [len(m) for m in members] == [50, 45, 36, 17]
    suppressed = set(body["suppressed"])
    published = compare_block(body, frame, "", suppressed)
    for index, (group, rows) in enumerate(zip(groups, members, strict=True)):
        published += compare_block(group, rows, f"/groups/{index}", suppressed)
    assert published >= 30, "too few counts published to compare"


def test_grouping_by_age_band_is_protected_exactly_as_grouping_by_study(
    research_client: TestClient, catalog: Catalog
) -> None:
    """k = 11. Everyone's study is named after their age band, so both groupings form the same
    groups: the exports must pool, withhold and publish exactly the same values."""
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    rng = np.random.default_rng(7)
    insert(engine, catalog, people_by_age_band(rng, catalog, {1: 40, 2: 30, 3: 6, 4: 3, 0: 14}))
    key = new_key(engine)
    common = {"questionnaire_id": WITH_DEMOGRAPHICS, "period": "week"}
    by_band = ok(export(research_client, "summary", key, group_by="age_band", **common))
    by_study = ok(export(research_client, "summary", key, group_by="study", **common))

    band_of_study = {None: None, **{f"band{p}": band for p, band in enumerate(AGE_BANDS, 1)}}
    assert [(g["key"], g["other"]) for g in by_band["groups"]] == [
        (band_of_study[g["key"]], g["other"]) for g in by_study["groups"]
    ]
    # 40-59 (6) and 60+ (3) are under k: pooled, and the pool of 9 takes the smallest
    # named group (14 who did not answer) with it.
    assert [(g["key"], g["other"], g["n"]) for g in by_band["groups"]] == [
        ("18-24", False, 40),
        ("25-39", False, 30),
        (None, True, 23),
    ]
    assert by_band["suppressed"] == by_study["suppressed"]
    assert by_band["suppressed"], "small cells inside the groups are withheld"
    for band_group, study_group in zip(by_band["groups"], by_study["groups"], strict=True):
        assert {**band_group, "key": None} == {**study_group, "key": None}
    for name in ("n", "dimensions", "tendencies", "crisis", "periods"):
        assert by_band[name] == by_study[name]
    for block in [by_band, *by_band["groups"]]:
        counts = [c["count"] for c in block["tendencies"]["primary"].values()]
        counts += [c["count"] for c in block["crisis"].values()]
        assert not [c for c in counts if c is not None and 0 < c < 11]


def test_too_few_respondents_grouped_by_age_band_withhold_everything(
    research_client: TestClient, catalog: Catalog
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, people_by_age_band(np.random.default_rng(1), catalog, {1: 6, 2: 3}))
    body = ok(
        export(
            research_client,
            "summary",
            new_key(engine),
            questionnaire_id=WITH_DEMOGRAPHICS,
            group_by="age_band",
        )
    )
    assert body["n"] is None
    assert body["groups"] == []
    assert "/n" in body["suppressed"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"questionnaire_id": WITH_DEMOGRAPHICS, "group_by": "gender"}, "age_band, living_area"),
        ({"questionnaire_id": QUESTIONNAIRE, "group_by": "age_band"}, "study, language"),
        (
            {
                "questionnaire_id": WITH_DEMOGRAPHICS,
                "group_by": "age_band",
                "privacy": "dp",
                "epsilon": 0.1,
                "study": "band1",
            },
            "privacy=dp",
        ),
    ],
)
def test_a_group_by_the_questionnaire_does_not_declare_is_a_problem_naming_group_by(
    research_client: TestClient, params: dict[str, Any], fragment: str
) -> None:
    key = new_key(research_client.app.state.engine)  # type: ignore[attr-defined]
    response = export(research_client, "summary", key, **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    errors = response.json()["errors"]
    assert [e["item"] for e in errors] == ["group_by"]
    assert fragment in errors[0]["message"]


def full_answers(catalog: Catalog, seed: int) -> dict[str, int]:
    return latent_answers(np.random.default_rng(seed), 1, catalog, missing=0.0)[0]


@pytest.mark.parametrize("value", [0, 5, -1, "2", True, 2.0])
def test_an_answer_that_is_not_an_option_is_refused_naming_the_item(
    client: TestClient, catalog: Catalog, value: object
) -> None:
    answers: dict[str, object] = {**full_answers(catalog, 1), "age_band": value}
    created = client.post(
        "/api/v1/responses",
        json={"questionnaire_id": WITH_DEMOGRAPHICS, "answers": answers, "submit": True},
    )
    scored = client.post(
        f"/api/v1/questionnaires/{WITH_DEMOGRAPHICS}/score", json={"answers": answers}
    )
    for response in (created, scored):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM_JSON
        errors = response.json()["errors"]
        assert [e["item"] for e in errors] == ["age_band"]
        assert "1 to 4" in errors[0]["message"]


def test_a_demographic_answer_changes_no_score(client: TestClient, catalog: Catalog) -> None:
    answers = full_answers(catalog, 2)
    url = f"/api/v1/questionnaires/{WITH_DEMOGRAPHICS}/score"
    without = client.post(url, json={"answers": answers})
    with_bands = [
        client.post(url, json={"answers": {**answers, "age_band": p, "living_area": 2}})
        for p in (1, 4)
    ]
    assert without.status_code == 200, without.text
    for response in with_bands:
        assert response.status_code == 200, response.text
        for part in ("scores", "tendencies", "primary_tendency"):
            assert response.json()[part] == without.json()[part]


def test_the_questionnaire_view_lists_the_demographic_items(client: TestClient) -> None:
    view = client.get(f"/api/v1/questionnaires/{WITH_DEMOGRAPHICS}").json()
    assert view["demographics"] == [
        {
            "id": "age_band",
            "text": "How old are you?",
            "options": [
                {"id": "18-24", "label": "18 to 24"},
                {"id": "25-39", "label": "25 to 39"},
                {"id": "40-59", "label": "40 to 59"},
                {"id": "60-plus", "label": "60 or older"},
            ],
        },
        {
            "id": "living_area",
            "text": "Where do you live?",
            "options": [
                {"id": "city", "label": "In a city"},
                {"id": "countryside", "label": "In a town or the countryside"},
            ],
        },
    ]
    listed = {i["id"] for s in view["sections"] for i in s["items"]}
    assert not listed & {"age_band", "living_area"}
    assert client.get(f"/api/v1/questionnaires/{QUESTIONNAIRE}").json()["demographics"] == []


def test_the_research_copy_carries_the_demographic_answers_into_the_exports(
    make_client: Any, catalog: Catalog, database_url: str
) -> None:
    client: TestClient = make_client(min_cell_size=2)
    # (age_band, living_area) as answered, 0 for not answered: two, three and two people.
    chosen = [(2, 0), (2, 0), (3, 1), (3, 1), (3, 1), (0, 2), (0, 2)]
    given: dict[str, tuple[int, int]] = {}
    for seed, (age_band, living_area) in enumerate(chosen):
        answers = full_answers(catalog, seed)
        answers.update({"age_band": age_band} if age_band else {})
        answers.update({"living_area": living_area} if living_area else {})
        given[submit_through_api(client, answers, True, WITH_DEMOGRAPHICS)] = (
            age_band,
            living_area,
        )
    refused = submit_through_api(
        client, {**full_answers(catalog, 8), "age_band": 1}, False, WITH_DEMOGRAPHICS
    )

    stored = {
        row["id"]: row["research_answers"] for row in table_rows(database_url, "response_session")
    }
    assert stored[refused] is None
    for response_id, (age_band, living_area) in given.items():
        copy = bytes(stored[response_id])
        assert len(copy) == ITEM_COUNT + 2
        assert (copy[ITEM_COUNT], copy[ITEM_COUNT + 1]) == (age_band, living_area)

    key = new_key(client.app.state.engine)  # type: ignore[attr-defined]
    by_band = ok(
        export(client, "summary", key, questionnaire_id=WITH_DEMOGRAPHICS, group_by="age_band")
    )
    assert by_band["n"] == 7
    assert [(g["key"], g["n"]) for g in by_band["groups"]] == [
        ("25-39", 2),
        ("40-59", 3),
        (None, 2),
    ]
    by_area = ok(
        export(client, "summary", key, questionnaire_id=WITH_DEMOGRAPHICS, group_by="living_area")
    )
    assert [(g["key"], g["n"]) for g in by_area["groups"]] == [
        ("city", 3),
        ("countryside", 2),
        (None, 2),
    ]


def test_the_codebook_describes_the_demographic_groupings_and_validates_the_csv(
    research_client: TestClient, catalog: Catalog, tmp_path: Path
) -> None:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    insert(
        engine,
        catalog,
        people_by_age_band(np.random.default_rng(3), catalog, {1: 60, 2: 50, 0: 20}),
    )
    key = new_key(engine)
    codebook = export(research_client, "codebook", key, questionnaire_id=WITH_DEMOGRAPHICS)
    assert codebook.status_code == 200, codebook.text
    package = json.loads(codebook.text)
    age_band = package["demographics"][0]
    assert age_band["id"] == "age_band"
    assert [(o["id"], o["answer"]) for o in age_band["options"]] == [
        (band, place) for place, band in enumerate(AGE_BANDS, 1)
    ]
    summary_fields = next(r for r in package["resources"] if r["name"] == "summary")["schema"]
    group_by = next(f for f in summary_fields["fields"] if f["name"] == "group_by")
    assert group_by["constraints"]["enum"] == [
        "study",
        "language",
        "country",
        "tendency",
        "age_band",
        "living_area",
    ]
    bundled = ok(export(research_client, "codebook", key))
    assert "demographics" not in bundled

    (tmp_path / "datapackage.json").write_text(codebook.text)
    for name, params in (("summary", {"group_by": "age_band"}), ("histograms", {}), ("items", {})):
        response = export(
            research_client, name, key, questionnaire_id=WITH_DEMOGRAPHICS, format="csv", **params
        )
        assert response.status_code == 200, response.text
        (tmp_path / f"{name}.csv").write_text(response.text)
    table = pd.read_csv(tmp_path / "summary.csv", comment="#")
    assert set(table["group"]) == {"(all)", "18-24", "25-39", "(none)"}
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_demographic_groups_are_listed_in_the_definitions_option_order() -> None:
    """Option ids need not sort the way the options are meant to be read (``under_25`` would
    come after ``60-plus``), so a demographic item's groups follow the definition."""
    blocks = {
        "single": BlockTally(n=20),
        "partnered": BlockTally(n=30),
        "widowed": BlockTally(n=2),
        None: BlockTally(n=15),
    }
    by_definition = pooled(blocks, 11, {"single": 0, "partnered": 1, "widowed": 2})
    by_name = pooled(blocks, 11)
    # widowed (2) is under k; the pool takes the smallest named group (15 unanswered) along.
    assert [(g.key, g.other, g.tally.n) for g in by_definition] == [
        ("single", False, 20),
        ("partnered", False, 30),
        (None, True, 17),
    ]
    assert [g.key for g in by_name] == ["partnered", "single", None]
