"""A relationship left out of an instrument answered per relationship (ECR-RS).

Someone with no partner, or no father figure, answers the relationships they have. Submitting
then scores what was answered: a relationship none of whose statements is answered is reported
unscored (as stateless scoring reports it) and does not block; a relationship answered in part,
too little for a dimension, is refused by name (it may be a slip); and at least one
relationship must be answered in full. Questionnaires without relationships keep the rule that
every dimension needs enough answers.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session
from test_integration_fhir import response_from_options, valid

from app.cli import main
from app.config import get_settings
from app.services.research.access import create_key
from app.web.security import CSRF_FIELD
from scoring.catalog import BUNDLED_DIR

AppFactory = Callable[..., TestClient]  # the app_from_environment fixture of conftest.py
API = "/api/v1"
ID = "ecr-rs"
TARGETS = ("partner", "mother", "father", "friend")
ITEMS = [f"rs{n:02d}" for n in range(1, 10)]
DIMENSIONS = [f"{t}.{d}" for t in TARGETS for d in ("avoidance", "anxiety")]


def per_target(target: str, values: list[int | None]) -> dict[str, int]:
    return {f"{target}.{i}": v for i, v in zip(ITEMS, values, strict=True) if v is not None}


# By the published key (avoidance = items 1-6, 1-4 reversed as 8 - x; anxiety = items 7-9):
# partner: avoidance (7+6+5+4+5+6)/6 = 5.5, anxiety 7; friend: 4 and 4. No mother, no father.
PARTNER = per_target("partner", [1, 2, 3, 4, 5, 6, 7, 7, 7])
FRIEND = per_target("friend", [4] * 9)
WITHOUT_PARENTS = {**PARTNER, **FRIEND}
MEANS_WITHOUT_PARENTS = {
    "partner.avoidance": 5.5,
    "partner.anxiety": 7.0,
    "mother.avoidance": None,
    "mother.anxiety": None,
    "father.avoidance": None,
    "father.anxiety": None,
    "friend.avoidance": 4.0,
    "friend.anxiety": 4.0,
}
# The mother answered in part: (answers about her, the dimensions then refused by name).
MOTHER_IN_PART = [
    pytest.param(
        [4, 4, 4, None, None, None, None, None, None],
        ["mother.avoidance", "mother.anxiety"],
        id="both",
    ),
    pytest.param([4, 4, 4, 4, 4, 4, 4, None, None], ["mother.anxiety"], id="anxiety"),
    pytest.param([None] * 6 + [4, 4, 4], ["mother.avoidance"], id="avoidance"),
]


@pytest.fixture
def client(app_from_environment: AppFactory, ecr_rs_dir: Path) -> TestClient:
    return app_from_environment(questionnaires_dir=ecr_rs_dir, min_cell_size=2)


def start(
    client: TestClient, answers: dict[str, int], *, submit: bool = True, research: bool = False
) -> httpx.Response:
    return client.post(
        f"{API}/responses",
        json={
            "questionnaire_id": ID,
            "answers": answers,
            "submit": submit,
            "consent": {"research": research},
        },
    )


def bearer(created: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {created.json()['token']}"}


def problem_fields(reply: httpx.Response) -> list[str]:
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    return [e["item"] for e in reply.json()["errors"]]


def test_a_response_without_mother_or_father_is_submitted_and_reads_back_as_scored(
    client: TestClient,
) -> None:
    created = start(client, WITHOUT_PARENTS)

    assert created.status_code == 201, created.text
    result = created.json()["result"]
    assert {d: s["mean"] for d, s in result["scores"].items()} == MEANS_WITHOUT_PARENTS
    assert result["scores"]["mother.avoidance"]["answered"] == 0
    assert result["scores"]["father.anxiety"]["band"] is None
    assert [(t["id"], t["primary_tendency"]) for t in result["targets"]] == [
        ("partner", "anxious"),
        ("mother", None),
        ("father", None),
        ("friend", "secure"),
    ]
    # Scored exactly as stateless scoring scores the same answers.
    stateless = client.post(f"{API}/questionnaires/{ID}/score", json={"answers": WITHOUT_PARENTS})
    assert stateless.json() == result
    read = client.get(f"{API}/responses/{created.json()['response_id']}", headers=bearer(created))
    assert read.status_code == 200, read.text
    assert read.json()["status"] == "submitted"
    assert read.json()["result"] == result
    assert read.json()["progress"]["ready_to_submit"] is True


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_a_stored_response_without_parents_reads_as_fhir(client: TestClient, version: str) -> None:
    created = start(client, WITHOUT_PARENTS)
    read = client.get(
        f"{API}/responses/{created.json()['response_id']}/fhir",
        headers=bearer(created),
        params={"fhirVersion": version},
    )

    assert read.status_code == 200, read.text
    groups = valid(read.json(), version)["item"][0]["item"]
    answered = {g["linkId"]: [a["linkId"] for a in g.get("item", [])] for g in groups}
    assert answered["partner"] == [f"partner.{i}" for i in ITEMS]
    assert not answered.get("mother")


def test_saved_answers_without_parents_are_ready_and_submit(client: TestClient) -> None:
    saved = start(client, WITHOUT_PARENTS, submit=False)
    assert saved.status_code == 201, saved.text
    url = f"{API}/responses/{saved.json()['response_id']}"

    progress = client.get(url, headers=bearer(saved)).json()["progress"]
    submitted = client.post(f"{url}/submit", headers=bearer(saved))

    assert progress["ready_to_submit"] is True
    assert submitted.status_code == 200, submitted.text
    assert {d: s["mean"] for d, s in submitted.json()["result"]["scores"].items()} == (
        MEANS_WITHOUT_PARENTS
    )


@pytest.mark.parametrize(("mother", "refused"), MOTHER_IN_PART)
def test_a_relationship_answered_in_part_is_refused_by_name(
    client: TestClient, mother: list[int | None], refused: list[str]
) -> None:
    answers = {**WITHOUT_PARENTS, **per_target("mother", mother)}

    direct = start(client, answers)
    saved = start(client, answers, submit=False)
    url = f"{API}/responses/{saved.json()['response_id']}"
    progress = client.get(url, headers=bearer(saved)).json()["progress"]
    later = client.post(f"{url}/submit", headers=bearer(saved))

    assert problem_fields(direct) == refused
    assert problem_fields(later) == refused
    assert progress["ready_to_submit"] is False
    messages = {e["item"]: e["message"] for e in direct.json()["errors"]}
    if "mother.avoidance" in refused:
        answered = sum(1 for i in ITEMS[:6] if f"mother.{i}" in answers)
        assert messages["mother.avoidance"].startswith(f"{answered} of 6 items answered")
        assert "at least 5 are needed" in messages["mother.avoidance"]
    # Nothing was stored by the refused submission.
    assert client.get(url, headers=bearer(saved)).json()["status"] == "in_progress"


def test_no_relationship_answered_in_full_is_refused(client: TestClient) -> None:
    partner_in_part = start(client, per_target("partner", [4, 4, 4, None, None, None, 4, 4, 4]))
    nothing = start(client, {})

    assert problem_fields(partner_in_part) == ["partner.avoidance"]
    # Nothing about anyone: every dimension is named, and the detail says what is needed.
    assert problem_fields(nothing) == DIMENSIONS
    assert "at least one relationship" in nothing.json()["detail"]
    assert all("0 of" in e["message"] for e in nothing.json()["errors"])


def test_the_bundled_questionnaire_still_needs_every_dimension(
    app_from_environment: AppFactory, ecr_rs_dir: Path
) -> None:
    """Without relationships, a dimension none of whose statements is answered still blocks."""
    client = app_from_environment(questionnaires_dir=ecr_rs_dir)
    answers = {f"{p}{n:02d}": 3 for p in ("avo", "dis") for n in range(1, 10)}

    reply = client.post(
        f"{API}/responses",
        json={"questionnaire_id": "attachment-self-reflection", "answers": answers, "submit": True},
    )

    assert problem_fields(reply) == ["anxiety"]
    assert reply.json()["detail"] == "Too few answers to submit."
    assert reply.json()["errors"][0]["message"].startswith("0 of 9 items answered; at least ")


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_fhir_store_follows_the_same_rule(client: TestClient, version: str) -> None:
    questionnaire = valid(
        client.get(f"{API}/questionnaires/{ID}/fhir", params={"fhirVersion": version}).json(),
        version,
    )
    params = {"store": "true", "fhirVersion": version}
    stored = client.post(
        f"{API}/fhir/QuestionnaireResponse",
        json=response_from_options(questionnaire, WITHOUT_PARENTS),
        params=params,
    )
    in_part = {**WITHOUT_PARENTS, **per_target("mother", [4, 4, None, None, None, None] + [4] * 3)}
    refused = client.post(
        f"{API}/fhir/QuestionnaireResponse",
        json=response_from_options(questionnaire, in_part),
        params=params,
    )

    assert stored.status_code == 201, stored.text
    absent = [
        entry["resource"]["code"]["coding"][0]["code"]
        for entry in valid(stored.json(), version)["entry"]
        if entry["resource"]["resourceType"] == "Observation"
        and "dataAbsentReason" in entry["resource"]
    ]
    assert [a for a in absent if "." in a] == [
        "mother.avoidance",
        "mother.anxiety",
        "father.avoidance",
        "father.anxiety",
    ]
    assert refused.status_code == 422, refused.text
    issues = valid(refused.json(), version)["issue"]
    assert [i["expression"] for i in issues] == [["QuestionnaireResponse.item"]]
    assert "2 of 6 items answered" in issues[0]["diagnostics"]


def test_research_exports_count_left_out_relationships_as_not_answered(
    client: TestClient,
) -> None:
    """Two responses about everyone (mother avoidance 4 and 14/6), two without parents: the
    parents' scores and statements count the first two only, never the others as zeros."""
    everyone = {**per_target("mother", [4] * 9), **per_target("father", [3] * 9)}
    low_mother = {
        **per_target("mother", [4, 6, 6, 6, 2, 2, 2, 2, 2]),
        **per_target("father", [3] * 9),
    }
    for answers in (
        {**WITHOUT_PARENTS, **everyone},
        {**WITHOUT_PARENTS, **low_mother},
        WITHOUT_PARENTS,
        WITHOUT_PARENTS,
    ):
        assert start(client, answers, research=True).status_code == 201
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        _, key = create_key(session, "Study team", (), dt.datetime.now(dt.UTC))
        session.commit()
    auth = {"Authorization": f"Bearer {key}"}
    params = {"questionnaire_id": ID}

    summary = client.get(f"{API}/research/summary", params=params, headers=auth)
    histograms = client.get(f"{API}/research/histograms", params=params, headers=auth)
    items = client.get(f"{API}/research/items", params=params, headers=auth)
    codebook = client.get(f"{API}/research/codebook", params=params, headers=auth)

    assert summary.status_code == 200, summary.text
    assert summary.json()["n"] == 4
    dimensions = summary.json()["dimensions"]
    assert dimensions["partner.avoidance"]["n"] == 4
    assert dimensions["mother.avoidance"]["n"] == 2
    assert dimensions["mother.avoidance"]["mean"] == pytest.approx(19 / 6)  # (4 + 14/6) / 2
    assert dimensions["father.anxiety"]["mean"] == pytest.approx(3.0)
    assert histograms.status_code == 200, histograms.text
    counted = histograms.json()["dimensions"]
    assert counted["partner.avoidance"]["n"] == 4
    assert counted["mother.avoidance"]["n"] == 2
    assert counted["father.anxiety"]["n"] == 2
    assert items.status_code == 200, items.text
    statements = items.json()["items"]
    assert statements["partner.rs01"]["n"] == 4
    assert statements["mother.rs01"]["n"] == 2
    assert statements["mother.rs01"]["mean"] == pytest.approx(4.0)
    assert statements["mother.rs01"]["distribution"] == {
        str(v): 2 if v == 4 else 0 for v in range(1, 8)
    }
    assert codebook.status_code == 200, codebook.text


def test_the_web_pages_finish_without_parents_and_lead_to_a_relationship_answered_in_part(
    client: TestClient,
) -> None:
    """Finishing in the pages follows the same rule; refused, the pages lead to the
    relationship answered in part (the best friend, after the parents left out), never to a
    relationship left out, and name only its dimensions."""
    web = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    try:
        without = _answer_in_pages(web, WITHOUT_PARENTS)
        results = web.get("/results")
        web.cookies.clear()
        in_part = _answer_in_pages(web, {**PARTNER, **per_target("friend", [4] * 7 + [None] * 2)})
        shown = web.get(in_part.headers["location"])
    finally:
        web.close()

    assert without.headers["location"] == "/results"
    assert results.status_code == 200, results.text
    assert "Your partner: anxious tendency." in results.text
    assert in_part.headers["location"].endswith("?missing=1")
    assert shown.status_code == 200, shown.text
    assert '<h2 class="group-heading" id="group-heading">Your best friend</h2>' in shown.text
    assert "If this relationship does not apply to you, leave all of its statements" in shown.text
    missing = re.search(r'<div class="error-summary".*?</div>', shown.text, re.S)
    assert missing is not None, shown.text
    assert "Anxiety (ECR-RS) — Your best friend: 1 of 3 answered" in missing.group(0)
    assert "Avoidance (ECR-RS) — Your best friend" not in missing.group(0)
    assert "mother" not in missing.group(0).lower()
    assert "father" not in missing.group(0).lower()


def _answer_in_pages(web: TestClient, answers: dict[str, int]) -> httpx.Response:
    """Start in the pages, answer ``answers`` page by page (leaving the rest open) and press
    "See my results" on the last page: the reply to that."""
    chosen = web.get("/", params={"questionnaire": ID}).text
    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', chosen))
    started = web.post("/start", data=form)
    assert started.status_code == 303, started.text
    step = 1
    while True:
        page = web.get(f"/questionnaire/{step}")
        assert page.status_code == 200, page.text
        on_page = list(dict.fromkeys(re.findall(r'type="radio" name="([a-z0-9_.-]+)"', page.text)))
        last = 'value="finish"' in page.text
        reply = web.post(
            f"/questionnaire/{step}",
            data={CSRF_FIELD: form[CSRF_FIELD], "action": "finish" if last else "next"}
            | {item: str(answers[item]) for item in on_page if item in answers},
        )
        assert reply.status_code == 303, reply.text
        if last:
            return reply
        step += 1


def test_the_crisis_notice_comes_with_or_without_relationships_left_out(
    app_from_environment: AppFactory, tmp_path: Path
) -> None:
    """The ECR-RS with a wellbeing check (answered once): its notice is given whether the
    submission is taken or refused."""
    document = yaml.safe_load((BUNDLED_DIR / "library" / "ecr-rs.yaml").read_text("utf-8"))
    document["wellbeing"] = copy.deepcopy(WELLBEING)
    folder = tmp_path / "checked"
    folder.mkdir()
    (folder / "ecr-rs.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    client = app_from_environment(questionnaires_dir=folder)

    taken = start(client, {**WITHOUT_PARENTS, "wb_life": 6})
    refused = start(
        client, {**WITHOUT_PARENTS, **per_target("father", [3, 3] + [None] * 7), "wb_life": 6}
    )

    assert taken.status_code == 201, taken.text
    assert taken.json()["crisis"]["level"] == "urgent"
    assert refused.status_code == 422, refused.text
    assert refused.json()["crisis"]["level"] == "urgent"


WELLBEING = {
    "title": {"en": "Lately"},
    "instructions": {"en": "Optional."},
    "items": [
        {"id": "wb_life", "scale": "agreement", "text": {"en": "Thoughts of ending your life"}}
    ],
    "risk_rules": [{"item": "wb_life", "at_least": 5, "level": "urgent"}],
}


def test_norms_are_built_and_given_with_relationships_left_out(
    app_from_environment: AppFactory,
    ecr_rs_dir: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Norms built from responses of which half leave the parents out: each dimension's norms
    come from the responses that scored it; a result without parents is placed on the
    dimensions it has, and on no other."""
    client = app_from_environment(questionnaires_dir=ecr_rs_dir)
    parents = {**per_target("mother", [4] * 9), **per_target("father", [3] * 9)}
    for number in range(40):
        partner = per_target("partner", [1 + number % 7] * 9)
        answers = {**partner, **FRIEND, **(parents if number % 2 else {})}
        assert start(client, answers, research=True).status_code == 201
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", database_url)
    monkeypatch.setenv("SECUREBASE_NORMS_MIN_SAMPLE", "20")
    monkeypatch.setenv("SECUREBASE_NORMS_TOTAL_EPSILON", "50")
    get_settings.cache_clear()
    try:
        built = CliRunner().invoke(
            main,
            [
                "norms",
                "build",
                ID,
                "--epsilon",
                "40",
                "--built-by",
                "Team",
                "--output-dir",
                str(ecr_rs_dir / "norms"),
            ],
        )
    finally:
        get_settings.cache_clear()
    assert built.exit_code == 0, built.output
    normed = app_from_environment(questionnaires_dir=ecr_rs_dir)

    created = start(normed, WITHOUT_PARENTS)

    assert created.status_code == 201, created.text
    placed = created.json()["result"]["norms"]["dimensions"]
    assert sorted(placed) == sorted(d for d, m in MEANS_WITHOUT_PARENTS.items() if m is not None)
    read = normed.get(f"{API}/responses/{created.json()['response_id']}", headers=bearer(created))
    assert read.json()["result"] == created.json()["result"]
