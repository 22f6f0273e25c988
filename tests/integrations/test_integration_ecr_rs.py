"""ECR-RS, an instrument answered per relationship, deployed from the library without code.

The library file is copied into a folder named by SECUREBASE_QUESTIONNAIRES_DIR, as
questionnaires/README.md tells a deployer to; the app is built from the environment. Every
relationship (partner, mother, father, best friend) must then be served, scored the same way
by every route, stored and exported on its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session
from test_integration_fhir import bundle_result, response_from_options, valid

from app.cli import main
from app.config import get_settings
from app.services.research.access import create_key
from app.web.security import CSRF_FIELD

AppFactory = Callable[..., TestClient]  # the app_from_environment fixture of conftest.py
API = "/api/v1"
ID = "ecr-rs"
SCORE = f"{API}/questionnaires/{ID}/score"
TARGETS = ("partner", "mother", "father", "friend")
ITEMS = [f"rs{n:02d}" for n in range(1, 10)]
LABELS = {
    "partner": "Your partner",
    "mother": "Your mother (or a mother-like figure)",
    "father": "Your father (or a father-like figure)",
    "friend": "Your best friend",
}
DIMENSIONS = [f"{t}.{d}" for t in TARGETS for d in ("avoidance", "anxiety")]


def per_target(target: str, values: list[int | None]) -> dict[str, int]:
    return {f"{target}.{i}": v for i, v in zip(ITEMS, values, strict=True) if v is not None}


# By the published key (avoidance = items 1-6, 1-4 reversed as 8 - x; anxiety = items 7-9):
# partner: avoidance (7+6+5+4+5+6)/6 = 5.5, anxiety (7+7+7)/3 = 7
# mother:  avoidance (4*6)/6 = 4, anxiety 4
# father:  avoidance (1*6)/6 = 1, anxiety 1 of 3 answered, 3 needed: no score
# friend:  avoidance (1+1+1+1+7)/5 = 2.2, anxiety not answered: no score
ANSWERS = {
    **per_target("partner", [1, 2, 3, 4, 5, 6, 7, 7, 7]),
    **per_target("mother", [4] * 9),
    **per_target("father", [7, 7, 7, 7, 1, 1, 2, None, None]),
    **per_target("friend", [7, 7, 7, 7, 7, None, None, None, None]),
}
MEANS = {
    "partner.avoidance": 5.5,
    "partner.anxiety": 7.0,
    "mother.avoidance": 4.0,
    "mother.anxiety": 4.0,
    "father.avoidance": 1.0,
    "father.anxiety": None,
    "friend.avoidance": 2.2,
    "friend.anxiety": None,
}


def test_ecr_rs_is_served_with_every_relationship(
    app_from_environment: AppFactory, ecr_rs_dir: Path
) -> None:
    client = app_from_environment(questionnaires_dir=ecr_rs_dir)

    listed = {q["id"]: q for q in client.get(f"{API}/questionnaires").json()}
    view = client.get(f"{API}/questionnaires/{ID}").json()

    assert listed[ID]["item_count"] == 36  # 9 statements about 4 relationships
    assert [i["id"] for i in view["items"]] == [f"{t}.{i}" for t in TARGETS for i in ITEMS]
    # Every copy of a statement reads the same; each says which relationship it is about.
    assert view["items"][9] == {
        "id": "mother.rs01",
        "text": "ECR-RS item 1",
        "scale": "agreement",
        "target": "mother",
        "target_label": "Your mother (or a mother-like figure)",
    }
    assert (
        "target"
        not in client.get(f"{API}/questionnaires/attachment-self-reflection").json()["items"][0]
    )


def test_every_route_scores_each_relationship_as_computed_by_hand(
    app_from_environment: AppFactory, ecr_rs_dir: Path, tmp_path: Path
) -> None:
    client = app_from_environment(questionnaires_dir=ecr_rs_dir)
    other = {**per_target("partner", [4] * 9), **per_target("mother", [2] * 9)}
    bad = {**ANSWERS, "father.rs09": 0}
    rows = [ANSWERS, other, bad]
    sheet = tmp_path / "answers.csv"
    with sheet.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(
            out, fieldnames=["respondent", *(f"{t}.{i}" for t in TARGETS for i in ITEMS)]
        )
        writer.writeheader()
        for number, row in enumerate(rows):
            writer.writerow({"respondent": f"r{number}", **row})

    single = [client.post(SCORE, json={"answers": row}) for row in rows]
    batch = client.post(f"{SCORE}/batch", json={"responses": [{"answers": r} for r in rows]})
    get_settings.cache_clear()  # the command line reads SECUREBASE_QUESTIONNAIRES_DIR afresh
    try:
        cli = CliRunner().invoke(main, ["score", ID, str(sheet), "-o", str(tmp_path / "out.csv")])
    finally:
        get_settings.cache_clear()

    assert single[0].status_code == 200, single[0].text
    result = single[0].json()
    assert {d: s["mean"] for d, s in result["scores"].items()} == MEANS
    assert {d: s["target"] for d, s in result["scores"].items()} == {
        d: d.split(".")[0] for d in DIMENSIONS
    }
    assert [(t["id"], t["primary_tendency"]) for t in result["targets"]] == [
        ("partner", "anxious"),
        ("mother", "secure"),
        ("father", None),
        ("friend", None),
    ]
    assert result["primary_tendency"] is None
    assert result["summary"].startswith("Your partner: anxious tendency.")
    assert single[2].status_code == 422
    assert batch.status_code == 200, batch.text
    entries = batch.json()["results"]
    assert entries[:2] == [s.json() for s in single[:2]]
    assert [e["item"] for e in entries[2]["errors"]] == ["father.rs09"]
    assert cli.exit_code == 0, cli.output
    by_cli = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    for row, answer in zip(by_cli[:2], entries[:2], strict=True):
        for dimension in DIMENSIONS:
            mean = answer["scores"][dimension]["mean"]
            assert row[f"{dimension}_mean"] == ("" if mean is None else repr(mean))
            assert row[f"{dimension}_band"] == (answer["scores"][dimension]["band"] or "")
    assert by_cli[2]["problems"].startswith("father.rs09:")


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_a_fhir_response_scores_as_score_does(
    app_from_environment: AppFactory, ecr_rs_dir: Path, version: str
) -> None:
    client = app_from_environment(questionnaires_dir=ecr_rs_dir)
    questionnaire = valid(
        client.get(f"{API}/questionnaires/{ID}/fhir", params={"fhirVersion": version}).json(),
        version,
    )
    resource = valid(response_from_options(questionnaire, ANSWERS), version)

    scored = client.post(
        f"{API}/fhir/QuestionnaireResponse", json=resource, params={"fhirVersion": version}
    )

    assert scored.status_code == 200, scored.text
    assert (
        bundle_result(valid(scored.json(), version))
        == client.post(SCORE, json={"answers": ANSWERS}).json()
    )
    attachment = questionnaire["item"][0]
    assert [(g["linkId"], g["text"], g["type"]) for g in attachment["item"]] == [
        ("partner", "Your partner", "group"),
        ("mother", "Your mother (or a mother-like figure)", "group"),
        ("father", "Your father (or a father-like figure)", "group"),
        ("friend", "Your best friend", "group"),
    ]
    assert [i["linkId"] for i in attachment["item"][1]["item"]] == [f"mother.{i}" for i in ITEMS]


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_a_stored_response_read_as_fhir_keeps_each_relationship(
    app_from_environment: AppFactory, ecr_rs_dir: Path, version: str
) -> None:
    client = app_from_environment(questionnaires_dir=ecr_rs_dir)
    complete = {**ANSWERS, **per_target("father", [5] * 9), **per_target("friend", [3] * 9)}
    created = client.post(
        f"{API}/responses", json={"questionnaire_id": ID, "answers": complete, "submit": True}
    ).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    stored = client.get(f"{API}/responses/{created['response_id']}", headers=auth).json()

    read = client.get(
        f"{API}/responses/{created['response_id']}/fhir",
        headers=auth,
        params={"fhirVersion": version},
    )
    resource = valid(read.json(), version)
    rescored = client.post(
        f"{API}/fhir/QuestionnaireResponse", json=resource, params={"fhirVersion": version}
    )

    groups = resource["item"][0]["item"]
    assert [g["linkId"] for g in groups] == list(TARGETS)
    assert [a["linkId"] for a in groups[3]["item"]] == [f"friend.{i}" for i in ITEMS]
    assert rescored.status_code == 200, rescored.text
    assert bundle_result(valid(rescored.json(), version))["scores"] == stored["result"]["scores"]


def submit(client: Any, answers: dict[str, int]) -> dict[str, Any]:
    created = client.post(
        f"{API}/responses",
        json={
            "questionnaire_id": ID,
            "answers": answers,
            "submit": True,
            "consent": {"research": True},
        },
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_stored_and_exported_with_each_relationship_on_its_own(
    app_from_environment: AppFactory, ecr_rs_dir: Path
) -> None:
    client = app_from_environment(questionnaires_dir=ecr_rs_dir, min_cell_size=2)
    # Submitting needs a score for every dimension of every relationship answered at all:
    # ANSWERS has the father and the best friend answered in part (see
    # test_relationships_left_out.py for relationships left out entirely).
    rest = {**per_target("father", [4] * 9), **per_target("friend", [4] * 9)}
    # partner avoidance 5.5 and 4.0 (mean 4.75); mother anxiety 4 and 2 (mean 3).
    second = {**per_target("partner", [4] * 9), **per_target("mother", [2] * 9), **rest}
    too_few = client.post(
        f"{API}/responses", json={"questionnaire_id": ID, "answers": ANSWERS, "submit": True}
    )
    stored = [submit(client, {**ANSWERS, **rest}), submit(client, second)]
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        _, key = create_key(session, "Study team", (), dt.datetime.now(dt.UTC))
        session.commit()
    auth = {"Authorization": f"Bearer {key}"}
    params = {"questionnaire_id": ID}

    read = client.get(
        f"{API}/responses/{stored[0]['response_id']}",
        headers={"Authorization": f"Bearer {stored[0]['token']}"},
    )
    summary = client.get(f"{API}/research/summary", params=params, headers=auth)
    histograms = client.get(f"{API}/research/histograms", params=params, headers=auth)
    items = client.get(f"{API}/research/items", params=params, headers=auth)
    codebook = client.get(f"{API}/research/codebook", params=params, headers=auth)

    assert too_few.status_code == 422
    assert [e["item"] for e in too_few.json()["errors"]] == ["father.anxiety", "friend.anxiety"]
    assert read.status_code == 200, read.text
    assert read.json()["result"]["targets"][0]["primary_tendency"] == "anxious"
    assert read.json()["result"]["scores"]["partner.avoidance"]["mean"] == 5.5
    assert summary.status_code == 200, summary.text
    dimensions = summary.json()["dimensions"]
    assert list(dimensions) == DIMENSIONS
    assert dimensions["partner.avoidance"]["mean"] == pytest.approx(4.75)
    assert dimensions["mother.anxiety"]["mean"] == pytest.approx(3.0)
    assert histograms.status_code == 200, histograms.text
    assert list(histograms.json()["dimensions"]) == DIMENSIONS
    assert items.status_code == 200, items.text
    assert "friend.rs05" in items.json()["items"]
    assert list(items.json()["reliability"]) == DIMENSIONS
    assert codebook.status_code == 200, codebook.text
    rules = codebook.json()["scoring"]
    by_id = {d["id"]: d for d in rules["dimensions"]}
    assert by_id["father.anxiety"]["target"] == "father"
    assert by_id["father.anxiety"]["items"] == ["father.rs07", "father.rs08", "father.rs09"]
    assert {i["id"]: i["target"] for i in rules["items"]}["mother.rs02"] == "mother"
    assert rules["tendencies"]["secure"].startswith("never a response's primary tendency")


def test_answered_in_the_web_pages_relationship_by_relationship(
    app_from_environment: AppFactory, ecr_rs_dir: Path
) -> None:
    """Through the pages as a browser without scripts: each page is headed by the relationship
    its statements are about, and the results name every relationship."""
    client = app_from_environment(questionnaires_dir=ecr_rs_dir)
    web = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    complete = {**ANSWERS, **per_target("father", [5] * 9), **per_target("friend", [3] * 9)}
    chosen = web.get("/", params={"questionnaire": ID}).text
    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', chosen))
    assert form["questionnaire"] == ID
    started = web.post("/start", data=form)
    assert started.status_code == 303, started.text
    seen: list[str] = []
    step = 1
    while True:
        page = web.get(f"/questionnaire/{step}")
        assert page.status_code == 200, page.text
        items = re.findall(r'type="radio" name="([a-z0-9_.-]+)"', page.text)
        on_page = list(dict.fromkeys(items))
        seen += on_page
        targets = {i.split(".")[0] for i in on_page}
        assert len(targets) == 1, on_page  # one relationship per page, headed by its label
        assert LABELS[targets.pop()] in page.text
        last = len(seen) == len(complete)
        reply = web.post(
            f"/questionnaire/{step}",
            data={CSRF_FIELD: form[CSRF_FIELD], "action": "finish" if last else "next"}
            | {item: str(complete[item]) for item in on_page},
        )
        assert reply.status_code == 303, reply.text
        if last:
            break
        step += 1

    results = web.get("/results")

    assert seen == [f"{t}.{i}" for t in TARGETS for i in ITEMS]
    assert results.status_code == 200, results.text
    for label in LABELS.values():
        assert f"Avoidance (ECR-RS) — {label}" in results.text
    assert "Your partner: anxious tendency." in results.text
    web.close()
